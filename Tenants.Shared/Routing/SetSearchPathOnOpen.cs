using System.Collections.Concurrent;
using System.Data;
using Microsoft.Extensions.Options;
using Npgsql;

namespace Tenants.Shared.Routing;

/// <summary>
/// Routes by a session <c>SET search_path</c> right after a connection opens inside a tenant scope; outside any
/// scope it costs nothing, because the data source's startup search_path is the shared schema alone and Npgsql's pool
/// reset (DISCARD ALL, pipelined with the next command) brings every returned connection back to it. One pool serves
/// every tenant, so connections stay bounded by the pool size whatever the tenant count. With
/// <see cref="TenancyOptions.TenantRoles"/> on, it also switches to the tenant's role.
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
        if (Plan(connection, justOpened, inTransaction) is { } plan)
        {
            using NpgsqlCommand command = new(plan.Sql, connection);
            command.ExecuteNonQuery();
            plan.Serving.Set(plan.Tenant, tentative: inTransaction);
        }
    }

    public async ValueTask RouteAsync(NpgsqlConnection connection, bool justOpened, bool inTransaction, CancellationToken cancellationToken)
    {
        if (Plan(connection, justOpened, inTransaction) is { } plan)
        {
            await using NpgsqlCommand command = new(plan.Sql, connection);
            await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            plan.Serving.Set(plan.Tenant, tentative: inTransaction);
        }
    }

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
        return fromReset || again ? Sql(tenant) : null;
    }

    public void Batched(NpgsqlConnection connection, string? tenant, bool inTransaction) =>
        State(connection).Set(tenant, tentative: inTransaction);

    public void Opened(NpgsqlConnection connection, string? defaultTenant) => State(connection).Reset(defaultTenant);

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
            _open.TryRemove(connection, out _);
        }
    }

    private RoutePlan? Plan(NpgsqlConnection connection, bool justOpened, bool inTransaction)
    {
        string? tenant = TenantContext.CurrentTenant;
        Serving serving = State(connection);
        if (justOpened)
        {
            serving.Reset(null); // the pool reset restored the startup search_path: the shared schema alone
        }

        bool serves = string.Equals(serving.Tenant, tenant, StringComparison.Ordinal);
        if (serves && !serving.Tentative)
        {
            serving.Used();
            return null;
        }

        // A tentative route is sent again, never trusted: a rollback to a savepoint may have undone it.
        if (inTransaction && !serving.Fresh && !serves)
        {
            // A session SET inside a transaction is undone by a rollback, after which we could no longer say what
            // the connection serves. Refuse rather than guess: a transaction never spans two tenants.
            throw new InvalidOperationException(
                $"A connection serving tenant '{serving.Tenant ?? "(none)"}' was used in a transaction for tenant '{tenant ?? "(none)"}'. " +
                "Open connections and transactions inside the tenant scope that uses them.");
        }

        return new RoutePlan(Sql(tenant), tenant, serving);
    }

    private string Sql(string? tenant) =>
        // The tenant name was validated when its scope opened; quoting anyway keeps this safe on its own.
        // With tenant roles on, the role switch rides in the same round trip; the pool reset undoes it too.
        (tenant, _options.TenantRoles) switch
        {
            (null, false) => $"SET search_path TO {_quotedSharedSchema}",
            // SET ROLE NONE, not RESET ROLE: a dedicated pool's connection has its tenant's role as the session default.
            (null, true) => $"SET search_path TO {_quotedSharedSchema}; SET ROLE NONE",
            (_, false) => $"SET search_path TO {PgIdentifier.Quote(tenant)}, {_quotedSharedSchema}",
            (_, true) => $"SET search_path TO {PgIdentifier.Quote(tenant)}, {_quotedSharedSchema}; " +
                $"SET ROLE {PgIdentifier.Quote(Security.TenantRoleNames.NameFor(tenant, _options.TenantRolePrefix))}",
        };

    private sealed record RoutePlan(string Sql, string? Tenant, Serving Serving);

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

        public void Set(string? tenant, bool tentative) => (Tenant, Tentative, Fresh) = (tenant, tentative, false);

        public void Reset(string? defaultTenant) => (Tenant, Tentative, Fresh) = (defaultTenant, false, true);

        public void Used() => Fresh = false;

        public void Doubt() => Tentative = true;
    }
}
