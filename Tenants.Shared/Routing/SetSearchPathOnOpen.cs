using System.Collections.Concurrent;
using System.Data;
using System.Globalization;
using System.Runtime.CompilerServices;
using Microsoft.Extensions.Options;
using Npgsql;
using Tenants.Shared.Capacity;

namespace Tenants.Shared.Routing;

/// <summary>
/// Routes by a session <c>SET search_path</c> right after a connection opens inside a tenant scope; outside any
/// scope it costs nothing, because the data source's startup search_path is the shared schema alone and Npgsql's pool
/// reset (DISCARD ALL, pipelined with the next command) brings every returned connection back to it. One pool serves
/// every tenant, so connections stay bounded by the pool size whatever the tenant count. With
/// <see cref="TenancyOptions.TenantRoles"/> on, it also switches to the tenant's role. In a scope with a plan's limits,
/// the same round trip sets the plan's <c>statement_timeout</c>, and a main-pool connection counts against the
/// tenant's share of the pool from the route until it closes or serves another tenant.
/// </summary>
public sealed class SetSearchPathOnOpen : ITenantConnectionRouting
{
    private readonly TenancyOptions _options;
    private readonly string _quotedSharedSchema;

    // What each open connection serves. Only open ones: the pool reset undoes any route when a connection closes, so
    // an entry goes when its connection closes (StateChange), and the table holds at most as many entries as the pools
    // hold connections. Not a ConditionalWeakTable: its dependent handle per connection object, reclaimed by the GC and
    // the finalizer, is a cost on every request.
    private readonly ConcurrentDictionary<NpgsqlConnection, Serving> _open = new(ReferenceEqualityComparer.Instance);
    private readonly StateChangeEventHandler _forgetOnClose;
    private readonly TenantConnectionShares _shares = new();

    // Shares taken for connections about to open, until they have (Opened, or the route of a raw connection).
    private readonly ConcurrentDictionary<NpgsqlConnection, TenantConnectionShares.Share> _reserved = new(ReferenceEqualityComparer.Instance);

    public SetSearchPathOnOpen(IOptions<TenancyOptions> options)
    {
        _options = options.Value;
        _quotedSharedSchema = PgIdentifier.Quote(options.Value.SharedSchema);
        _forgetOnClose = ForgetOnClose;
    }

    /// <summary>How many connections it remembers a route for: the open ones it has seen.</summary>
    internal int Remembered => _open.Count;

    public void Route(NpgsqlConnection connection, bool justOpened, bool inTransaction)
    {
        if (Plan(connection, justOpened, inTransaction) is not { } plan)
        {
            return;
        }

        TenantConnectionShares.Share? held = plan.Serving.ShareFor(plan.Tenant);
        TenantConnectionShares.Share? taken = held is null && plan.Limits is { } limits ? _shares.Take(plan.Tenant!, limits) : null;
        try
        {
            using NpgsqlCommand command = new(plan.Sql, connection);
            command.ExecuteNonQuery();
        }
        catch
        {
            taken?.Release(); // one held already goes back when the connection closes, a broken one at once
            throw;
        }

        plan.Serving.Set(plan.Tenant, tentative: inTransaction, held ?? taken);
    }

    public async ValueTask RouteAsync(NpgsqlConnection connection, bool justOpened, bool inTransaction, CancellationToken cancellationToken)
    {
        if (Plan(connection, justOpened, inTransaction) is not { } plan)
        {
            return;
        }

        TenantConnectionShares.Share? held = plan.Serving.ShareFor(plan.Tenant);
        TenantConnectionShares.Share? taken = held is null && plan.Limits is { } limits
            ? await _shares.TakeAsync(plan.Tenant!, limits, cancellationToken).ConfigureAwait(false)
            : null;
        try
        {
            await using NpgsqlCommand command = new(plan.Sql, connection);
            await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            taken?.Release();
            throw;
        }

        plan.Serving.Set(plan.Tenant, tentative: inTransaction, held ?? taken);
    }

    public bool Serves(NpgsqlConnection connection) => Stands(State(connection), TenantContext.CurrentTenant);

    public string? BatchPrefix(NpgsqlConnection connection)
    {
        // From the pool's reset state: should the batch fail, PostgreSQL rolls the prefix back with it, and that state
        // (the shared schema alone, or a dedicated pool's own tenant) is where the connection stays, as recorded. And
        // again for the tenant a transaction was routed to, whose rollback may have undone it. A dedicated pool's
        // connection in its own tenant's scope needs nothing.
        Serving serving = State(connection);
        if (TenantContext.CurrentTenant is not { } tenant)
        {
            return null;
        }

        bool fromReset = serving.Fresh && serving.Tenant != tenant;
        bool again = serving.Tentative && serving.Tenant == tenant;
        if (!fromReset && !again)
        {
            return null;
        }

        // Never waits here: with the tenant's share taken up, the caller routes by Route instead, which does.
        TenantPlan? limits = Limits(serving);
        if (serving.ShareFor(tenant) is null && limits is not null)
        {
            if (_shares.TryTake(tenant, limits) is not { } share)
            {
                return null;
            }

            serving.Hold(share); // counted from now: should the batch fail, the share goes back when the connection closes
        }

        return Sql(tenant, TenantContext.CurrentLimits, serving.Fresh);
    }

    public void Batched(NpgsqlConnection connection, string? tenant, bool inTransaction)
    {
        Serving serving = State(connection);
        serving.Set(tenant, tentative: inTransaction, serving.ShareFor(tenant));
    }

    public void Opened(NpgsqlConnection connection, string? defaultTenant) => Reset(connection, State(connection), defaultTenant);

    public async ValueTask ReserveAsync(NpgsqlConnection connection, CancellationToken cancellationToken)
    {
        if (TenantContext.CurrentTenant is { } tenant && TenantContext.CurrentLimits is { } limits)
        {
            Reserved(connection, await _shares.TakeAsync(tenant, limits, cancellationToken).ConfigureAwait(false));
        }
    }

    public void Reserve(NpgsqlConnection connection)
    {
        if (TenantContext.CurrentTenant is { } tenant && TenantContext.CurrentLimits is { } limits)
        {
            Reserved(connection, _shares.Take(tenant, limits));
        }
    }

    public void Unreserve(NpgsqlConnection connection)
    {
        if (_reserved.TryRemove(connection, out TenantConnectionShares.Share? share))
        {
            share.Release();
        }
    }

    private void Reserved(NpgsqlConnection connection, TenantConnectionShares.Share share)
    {
        if (_reserved.TryAdd(connection, share))
        {
            return;
        }

        share.Release(); // reserved already: one open, one share
    }

    // From the pool's reset state; a share reserved before the open counts from here.
    private void Reset(NpgsqlConnection connection, Serving serving, string? defaultTenant)
    {
        serving.Reset(defaultTenant);

        // Looked up first, without a lock: most opens reserved nothing (a dedicated pool's connection, a scope without plans).
        if (_reserved.ContainsKey(connection) && _reserved.TryRemove(connection, out TenantConnectionShares.Share? share))
        {
            serving.Hold(share);
        }
    }

    public void Failed(NpgsqlConnection connection, bool inTransaction)
    {
        if (inTransaction)
        {
            State(connection).Doubt();
        }
    }

    private Serving State(NpgsqlConnection connection)
    {
        if (_open.TryGetValue(connection, out Serving? serving))
        {
            return serving;
        }

        serving = new Serving();
        if (connection.State == ConnectionState.Closed)
        {
            return serving; // nothing to remember: the next open starts from the pool reset
        }

        // A connection is used by one caller at a time, so no other thread adds it meanwhile. Npgsql raises
        // StateChange with cached arguments, and one handler is all the connection holds, so neither allocates.
        _open[connection] = serving;
        connection.StateChange += _forgetOnClose;
        return serving;
    }

    private void ForgetOnClose(object sender, StateChangeEventArgs change)
    {
        if ((change.CurrentState & ConnectionState.Open) == 0 && sender is NpgsqlConnection connection)
        {
            connection.StateChange -= _forgetOnClose;
            if (_open.TryRemove(connection, out Serving? serving))
            {
                serving.Hold(null);
            }
        }
    }

    private RoutePlan? Plan(NpgsqlConnection connection, bool justOpened, bool inTransaction)
    {
        string? tenant = TenantContext.CurrentTenant;
        Serving serving = State(connection);
        if (justOpened)
        {
            Reset(connection, serving, null); // the pool reset restored the startup search_path: the shared schema alone
        }

        if (Stands(serving, tenant))
        {
            return null;
        }

        bool serves = string.Equals(serving.Tenant, tenant, StringComparison.Ordinal);
        if (inTransaction && !serving.Fresh && !serves)
        {
            // A session SET inside a transaction is undone by a rollback, after which we could no longer say what
            // the connection serves. Refuse rather than guess: a transaction never spans two tenants.
            throw new InvalidOperationException(
                $"A connection serving tenant '{serving.Tenant ?? "(none)"}' was used in a transaction for tenant '{tenant ?? "(none)"}'. " +
                "Open connections and transactions inside the tenant scope that uses them.");
        }

        TenantPlan? limits = TenantContext.CurrentLimits;
        return new RoutePlan(Sql(tenant, limits, serving.Fresh), tenant, serving, tenant is null ? null : Limits(serving));
    }

    // A tentative route is never trusted: a rollback to a savepoint may have undone it.
    private static bool Stands(Serving serving, string? tenant)
    {
        if (serving.Tentative || !string.Equals(serving.Tenant, tenant, StringComparison.Ordinal))
        {
            return false;
        }

        serving.Used();
        return true;
    }

    // The limits whose share a route of the current tenant takes: none for a dedicated pool's connection, whose pool
    // bounds it already, nor outside a scope with a plan.
    private static TenantPlan? Limits(Serving serving) => serving.Dedicated ? null : TenantContext.CurrentLimits;

    // Written in one pass into one string: a main-pool connection builds it on every route.
    private string Sql(string? tenant, TenantPlan? limits, bool fromReset)
    {
        var sql = new DefaultInterpolatedStringHandler(0, 0, CultureInfo.InvariantCulture, stackalloc char[256]);

        // The tenant name was validated when its scope opened; quoting anyway keeps this safe on its own.
        sql.AppendLiteral("SET search_path TO ");
        if (tenant is not null)
        {
            PgIdentifier.AppendQuoted(ref sql, tenant);
            sql.AppendLiteral(", ");
        }

        sql.AppendLiteral(_quotedSharedSchema);

        // With tenant roles on, the role switch rides in the same round trip; the pool reset undoes it too. SET ROLE
        // NONE, not RESET ROLE: a dedicated pool's connection has its tenant's role as the session default.
        if (_options.TenantRoles)
        {
            sql.AppendLiteral("; SET ROLE ");
            if (tenant is null)
            {
                sql.AppendLiteral("NONE");
            }
            else
            {
                PgIdentifier.AppendQuoted(ref sql, Security.TenantRoleNames.NameFor(tenant, _options.TenantRolePrefix));
            }
        }

        // Set on every route, never assumed: the connection may have served another tenant's plan just before. From
        // the pool reset, the session's default is in force already, which is what RESET would restore.
        long timeout = tenant is null ? 0 : DedicatedTenantPools.TimeoutOf(limits);
        if (timeout > 0)
        {
            sql.AppendLiteral("; SET statement_timeout = ");
            sql.AppendFormatted(timeout);
        }
        else if (!fromReset)
        {
            sql.AppendLiteral("; RESET statement_timeout");
        }

        return sql.ToStringAndClear();
    }

    private sealed record RoutePlan(string Sql, string? Tenant, Serving Serving, TenantPlan? Limits);

    /// <summary>
    /// The tenant a connection serves (null: the shared schema alone). Fresh while nothing has run on it since the
    /// pool handed it out: only then may a transaction's first command route it. Tentative when it was routed inside a
    /// transaction, or a command failed inside one since: a rollback (to a savepoint) may have undone the route, so
    /// every command routes it again until a route outside any transaction stands; another tenant is refused meanwhile.
    /// </summary>
    private sealed class Serving
    {
        public string? Tenant { get; private set; }

        public bool Tentative { get; private set; }

        public bool Fresh { get; private set; } = true;

        /// <summary>From a tenant's dedicated pool: not counted against the tenant's share of the main pool.</summary>
        public bool Dedicated { get; private set; }

        /// <summary>The share of the main pool this connection counts against: its tenant's, while it serves one.</summary>
        public TenantConnectionShares.Share? Held { get; private set; }

        /// <summary>The share held already for <paramref name="tenant"/>, if any: a route to it needs no other.</summary>
        public TenantConnectionShares.Share? ShareFor(string? tenant) =>
            Held is { } held && string.Equals(held.Tenant, tenant, StringComparison.Ordinal) ? held : null;

        public void Set(string? tenant, bool tentative, TenantConnectionShares.Share? share)
        {
            (Tenant, Tentative, Fresh) = (tenant, tentative, false);
            Hold(share);
        }

        public void Reset(string? defaultTenant)
        {
            (Tenant, Tentative, Fresh, Dedicated) = (defaultTenant, false, true, defaultTenant is not null);
            Hold(null);
        }

        /// <summary>Counts the connection against <paramref name="share"/> (none: null), giving back the one held before.</summary>
        public void Hold(TenantConnectionShares.Share? share)
        {
            if (!ReferenceEquals(Held, share))
            {
                Held?.Release();
                Held = share;
            }
        }

        public void Used() => Fresh = false;

        public void Doubt() => Tentative = true;
    }
}
