using System.Collections.Concurrent;
using System.Globalization;
using Microsoft.Extensions.Logging;
using Npgsql;
using Tenants.Shared.Security;

namespace Tenants.Shared.Routing;

/// <summary>
/// Pools of their own for the few busiest tenants, in front of the one main pool. A dedicated pool's connections
/// carry the tenant's search_path (and role) as startup parameters, which the pool reset keeps, so they serve the
/// tenant with no routing statement at all. Every other tenant, and a busy tenant whose pool is full, uses the shared
/// pool and its batched SET. The EF Core contexts leased in each tenant's scope during a window decide which tenants
/// hold a pool in the next; pools are built and disposed in the background, never on a
/// request. Open connections stay bounded by configuration: a demoted pool frees its slot only once disposed, so
/// dedicated pools never hold more than <see cref="DedicatedPoolOptions.Tenants"/> ×
/// <see cref="DedicatedPoolOptions.PoolSize"/> connections.
/// </summary>
public sealed partial class DedicatedTenantPools : IAsyncDisposable
{
    private readonly string _connectionString;
    private readonly TenancyOptions _tenancy;
    private readonly DedicatedPoolOptions _options;
    private readonly ILogger _logger;
    private readonly TimeProvider _time;

    // Contexts created per tenant in the current window; swapped whole when the window ends.
    private ConcurrentDictionary<string, Use> _uses = new(StringComparer.Ordinal);

    // Replaced whole (copy on write) by the one rebalance that may run at a time; read without a lock on every context.
    private volatile Dictionary<string, Pool> _hot = new(StringComparer.Ordinal);
    private readonly List<Pool> _retiring = [];
    private long _windowStarted;
    private int _rebalancing;
    private volatile bool _off;

    /// <param name="connectionString">The main pool's connection string, which each dedicated pool starts from.</param>
    /// <param name="tenancy">The tenancy settings, <see cref="TenancyOptions.DedicatedPools"/> among them.</param>
    /// <param name="logger">Where promotions and demotions are logged.</param>
    /// <param name="time">The clock windows are measured on; the system's when null.</param>
    public DedicatedTenantPools(string connectionString, TenancyOptions tenancy, ILogger logger, TimeProvider? time = null)
    {
        _connectionString = connectionString;
        _tenancy = tenancy;
        _options = tenancy.DedicatedPools;
        _logger = logger;
        _time = time ?? TimeProvider.System;
        _windowStarted = _time.GetTimestamp();
        _off = _options.Tenants == 0;
    }

    /// <summary>False when configured off, once disposed, or once a pool could not be proven to route (a pooler dropped its startup parameters).</summary>
    public bool Enabled => !_off;

    /// <summary>The tenants that hold a dedicated pool now.</summary>
    public IReadOnlyCollection<string> Tenants => [.. _hot.Keys];

    /// <summary>
    /// Counts an EF Core context leased in <paramref name="tenant"/>'s scope toward the tenant's share of the window.
    /// Returns the tenant's pool, if it holds one now: the context's connection should come from it.
    /// </summary>
    internal Pool? Leased(string tenant)
    {
        if (_off)
        {
            return null;
        }

        long timeout = TimeoutOf(TenantContext.CurrentLimits);
        Use use = _uses.GetOrAdd(tenant, static _ => new Use());
        Interlocked.Increment(ref use.Count);
        Interlocked.Exchange(ref use.TimeoutMs, timeout);
        EndWindowIfDue();
        return HotPool(tenant, timeout);
    }

    /// <summary>
    /// For a context leased in <paramref name="tenant"/>'s scope, as it first needs a connection: one from the tenant's
    /// own pool, or null (use the main pool) when it has none or every one of its connections is lent.
    /// </summary>
    public DedicatedConnection? TryRent(string tenant) =>
        _off ? null : HotPool(tenant, TimeoutOf(TenantContext.CurrentLimits))?.TryRent();

    // A pool's connections carry its plan's statement timeout as a startup parameter: one built under another plan
    // lends nothing, and the next rebalance builds it anew.
    private Pool? HotPool(string tenant, long timeoutMs) =>
        _hot.TryGetValue(tenant, out Pool? pool) && pool.TimeoutMs == timeoutMs ? pool : null;

    public async ValueTask DisposeAsync()
    {
        _off = true;
        Dictionary<string, Pool> hot = _hot;
        _hot = new(StringComparer.Ordinal);
        foreach (Pool pool in hot.Values)
        {
            await pool.DisposeAsync().ConfigureAwait(false);
        }

        lock (_retiring)
        {
            foreach (Pool pool in _retiring)
            {
                pool.Retire();
            }
        }
    }

    private void EndWindowIfDue()
    {
        long now = _time.GetTimestamp(), started = Interlocked.Read(ref _windowStarted);
        TimeSpan elapsed = _time.GetElapsedTime(started, now);
        if (elapsed < _options.Window || Interlocked.CompareExchange(ref _rebalancing, 1, 0) != 0)
        {
            return;
        }

        ConcurrentDictionary<string, Use> uses = Interlocked.Exchange(ref _uses, new(StringComparer.Ordinal));
        Interlocked.Exchange(ref _windowStarted, now);
        double seconds = elapsed.TotalSeconds;

        // Not on the flow of the request that happens to end the window: its tenant scope, trace and log scopes
        // would tag the rebalance's spans and logs.
        using (ExecutionContext.SuppressFlow())
        {
            _ = Task.Run(() => RebalanceAsync(uses, seconds));
        }
    }

    private async Task RebalanceAsync(ConcurrentDictionary<string, Use> uses, double seconds)
    {
        try
        {
            Dictionary<string, long> counts = uses.ToDictionary(u => u.Key, u => Interlocked.Read(ref u.Value.Count), StringComparer.Ordinal);
            long TimeoutFor(string tenant) => uses.TryGetValue(tenant, out Use? use) ? Interlocked.Read(ref use.TimeoutMs) : 0;
            long total = counts.Values.Sum();
            bool Busy(string tenant, double factor) => counts.TryGetValue(tenant, out long count) &&
                count >= factor * _options.MinShare * total && count / seconds >= factor * _options.MinRate;

            var keep = new Dictionary<string, Pool>(StringComparer.Ordinal);
            foreach ((string tenant, Pool pool) in _hot)
            {
                if (Busy(tenant, 0.5) && pool.TimeoutMs == TimeoutFor(tenant))
                {
                    keep[tenant] = pool;
                    continue;
                }

                lock (_retiring)
                {
                    _retiring.Add(pool);
                }

                pool.Retire();
                long count = counts.GetValueOrDefault(tenant);
                LogDemoted(tenant, count, total);
            }

            _hot = new(keep, StringComparer.Ordinal);
            int free;
            lock (_retiring)
            {
                _retiring.RemoveAll(p => p.IsDisposed);
                free = _options.Tenants - keep.Count - _retiring.Count;
            }

            foreach ((string tenant, long count) in counts.Where(c => !keep.ContainsKey(c.Key) && Busy(c.Key, 1))
                .OrderByDescending(c => c.Value).Take(Math.Max(free, 0)))
            {
                Pool pool = Build(tenant, TimeoutFor(tenant));
                try
                {
                    // Opens the pool's first connection, which the initializer checks: the pool starts warm and proven.
                    await using (await pool.Source.OpenConnectionAsync().ConfigureAwait(false))
                    {
                    }
                }
                catch (Exception exception) when (exception is NpgsqlException or InvalidOperationException)
                {
                    // A pooler that drops startup parameters cannot serve dedicated pools; the main pool serves all.
                    _off = true;
                    await pool.DisposeAsync().ConfigureAwait(false);
                    LogTurnedOff(exception, tenant);
                    return;
                }

                if (_off)
                {
                    await pool.DisposeAsync().ConfigureAwait(false); // disposed meanwhile
                    return;
                }

                keep[tenant] = pool;
                _hot = new(keep, StringComparer.Ordinal);
                LogPromoted(tenant, count, total);
            }
        }
        catch (Exception exception)
        {
            LogRebalanceFailed(exception);
        }
        finally
        {
            Volatile.Write(ref _rebalancing, 0);
        }
    }

    private Pool Build(string tenant, long timeoutMs)
    {
        NpgsqlDataSourceBuilder builder = ResettingDataSource.Builder(_connectionString, _tenancy.SharedSchema, "connection string");
        NpgsqlConnectionStringBuilder settings = builder.ConnectionStringBuilder;

        // Startup parameters are the session's defaults: the pool reset (DISCARD ALL) returns to them, not away from them.
        settings.SearchPath = $"{PgIdentifier.Quote(tenant)}, {PgIdentifier.Quote(_tenancy.SharedSchema)}";
        string? role = _tenancy.TenantRoles ? TenantRoleNames.NameFor(tenant, _tenancy.TenantRolePrefix) : null;
        if (role is not null)
        {
            settings.Options = $"{settings.Options} -c role={role}".TrimStart();
        }

        if (timeoutMs > 0)
        {
            settings.Options = $"{settings.Options} -c statement_timeout={timeoutMs.ToString(CultureInfo.InvariantCulture)}".TrimStart();
        }

        settings.MaxPoolSize = _options.PoolSize;
        settings.MinPoolSize = 0;

        // Every physical connection proves it serves the tenant before it is used: fail closed if a pooler dropped them.
        builder.UsePhysicalConnectionInitializer(
            connection => Check(connection, tenant, role, async: false).GetAwaiter().GetResult(),
            connection => Check(connection, tenant, role, async: true));
        return new Pool(tenant, builder.Build(), _options.PoolSize, timeoutMs);
    }

    private async Task Check(NpgsqlConnection connection, string tenant, string? role, bool async)
    {
        await using var command = new NpgsqlCommand("SELECT current_schemas(false)::text[], current_user::text, session_user::text", connection);
        await using NpgsqlDataReader reader = async ? await command.ExecuteReaderAsync().ConfigureAwait(false) : command.ExecuteReader();
        _ = async ? await reader.ReadAsync().ConfigureAwait(false) : reader.Read();
        string[] schemas = reader.GetFieldValue<string[]>(0);
        string user = reader.GetString(1), session = reader.GetString(2);
        if (!schemas.SequenceEqual([tenant, _tenancy.SharedSchema], StringComparer.Ordinal) || user != (role ?? session))
        {
            throw new InvalidOperationException(
                $"A dedicated pool for tenant '{tenant}' got search_path [{string.Join(", ", schemas)}] and role '{user}' instead of " +
                $"[{tenant}, {_tenancy.SharedSchema}] and '{role ?? session}': its startup parameters were dropped (a pooler?).");
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Tenant {Tenant} has a dedicated pool: {Count} of {Total} tenant contexts in the last window")]
    private partial void LogPromoted(string tenant, long count, long total);

    [LoggerMessage(Level = LogLevel.Information, Message = "Tenant {Tenant} returns to the main pool: {Count} of {Total} tenant contexts in the last window")]
    private partial void LogDemoted(string tenant, long count, long total);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Dedicated tenant pools are off for this process: tenant {Tenant}'s pool could not be proven to route by its startup parameters; every tenant uses the main pool")]
    private partial void LogTurnedOff(Exception exception, string tenant);

    [LoggerMessage(Level = LogLevel.Error, Message = "Choosing the tenants with dedicated pools failed; the current ones stay")]
    private partial void LogRebalanceFailed(Exception exception);

    /// <summary>One tenant's pool, and how many of its connections are lent to contexts.</summary>
    internal sealed class Pool(string tenant, NpgsqlDataSource source, int size, long timeoutMs) : IAsyncDisposable
    {
        private int _lent;
        private int _retired;
        private int _disposed;

        public NpgsqlDataSource Source => source;

        /// <summary>The statement_timeout its connections start with, in milliseconds (0: the server's).</summary>
        public long TimeoutMs => timeoutMs;

        public bool IsDisposed => Volatile.Read(ref _disposed) == 1;

        public DedicatedConnection? TryRent() =>
            TryLend() ? new DedicatedConnection(tenant, source.CreateConnection(), this) : null;

        /// <summary>Takes one of the pool's places, if one is free and the pool still lends.</summary>
        public bool TryLend()
        {
            // Never more connections lent than the pool has: a context then never waits on the pool.
            if (Interlocked.Increment(ref _lent) > size || Volatile.Read(ref _retired) == 1)
            {
                Release();
                return false;
            }

            return true;
        }

        public void Release()
        {
            if (Interlocked.Decrement(ref _lent) == 0 && Volatile.Read(ref _retired) == 1)
            {
                DisposeOnce();
            }
        }

        /// <summary>No more lending; disposed when the last lent connection comes back (at once if none is out).</summary>
        public void Retire()
        {
            Interlocked.Exchange(ref _retired, 1);
            if (Volatile.Read(ref _lent) == 0)
            {
                DisposeOnce();
            }
        }

        public ValueTask DisposeAsync()
        {
            Interlocked.Exchange(ref _retired, 1);
            DisposeOnce();
            return ValueTask.CompletedTask;
        }

        private void DisposeOnce()
        {
            if (Interlocked.Exchange(ref _disposed, 1) == 0)
            {
                source.Dispose();
            }
        }
    }

    /// <summary>The statement timeout, in milliseconds, that <paramref name="limits"/> give a tenant's statements; 0 leaves the server's.</summary>
    internal static long TimeoutOf(Capacity.TenantPlan? limits) => limits is null ? 0 : (long)limits.StatementTimeout.TotalMilliseconds;

    /// <summary>A tenant's contexts in the current window, and the statement timeout its plan gave the latest one.</summary>
    private sealed class Use
    {
        public long Count;
        public long TimeoutMs;
    }

    /// <summary>A connection lent from a tenant's dedicated pool, to a context that releases it once disposed.</summary>
    public sealed class DedicatedConnection
    {
        private readonly Pool _pool;
        private int _released;

        internal DedicatedConnection(string tenant, NpgsqlConnection connection, Pool pool)
        {
            Tenant = tenant;
            Connection = connection;
            _pool = pool;
        }

        /// <summary>The tenant the connection's startup parameters route it to.</summary>
        public string Tenant { get; }

        public NpgsqlConnection Connection { get; }

        /// <summary>Gives the connection's place in its pool back (once); the object may be lent again by <see cref="TryRenew"/>.</summary>
        public void Release()
        {
            if (Interlocked.Exchange(ref _released, 1) == 0)
            {
                _pool.Release();
            }
        }

        /// <summary>
        /// Lends the released connection again, to a new lease in its tenant's scope, if <paramref name="current"/>
        /// (the tenant's pool now) is the pool it came from and has a place free.
        /// </summary>
        internal bool TryRenew(Pool current)
        {
            if (!ReferenceEquals(current, _pool) || Volatile.Read(ref _released) == 0 || !_pool.TryLend())
            {
                return false;
            }

            Volatile.Write(ref _released, 0);
            return true;
        }
    }
}
