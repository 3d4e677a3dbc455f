using Npgsql;

namespace Tenants.Shared.Routing;

/// <summary>
/// The one seam that decides how an open connection comes to serve the current tenant. Every connection the
/// tenancy core hands out (EF Core's and raw Npgsql's) passes through it, so another mechanism (SET on open, SET
/// batched with the first command, SET LOCAL, per-tenant data sources) is swapped in here alone.
/// </summary>
public interface ITenantConnectionRouting
{
    /// <summary>
    /// Makes <paramref name="connection"/> serve <see cref="TenantContext.CurrentTenant"/>: search_path = the tenant's
    /// schema then the shared schema, or the shared schema alone outside any scope. Cheap when it serves it already.
    /// </summary>
    /// <param name="connection">An open connection.</param>
    /// <param name="justOpened">True right after the pool handed it out: its session state is the pool's reset state.</param>
    /// <param name="inTransaction">True when a transaction is open on it: a session SET there would be undone by a rollback.</param>
    void Route(NpgsqlConnection connection, bool justOpened, bool inTransaction);

    /// <inheritdoc cref="Route"/>
    ValueTask RouteAsync(NpgsqlConnection connection, bool justOpened, bool inTransaction, CancellationToken cancellationToken);

    /// <summary>
    /// Whether <paramref name="connection"/>, open, serves <see cref="TenantContext.CurrentTenant"/> by a route that
    /// stands, so that a command may run on it as it is (then it counts as used, as after <see cref="Route"/>). Never
    /// routes and never waits.
    /// </summary>
    bool Serves(NpgsqlConnection connection);

    /// <summary>
    /// For a connection fresh from the pool (<see cref="Opened"/> and nothing since): the statements that route it,
    /// to run in the same round trip just before the caller's own command. Null when it needs none, or when it must
    /// be routed by <see cref="Route"/> instead (it serves another tenant already).
    /// </summary>
    string? BatchPrefix(NpgsqlConnection connection);

    /// <summary>
    /// The prefixed command completed (a query: its reader closed with no error): the connection now serves
    /// <paramref name="tenant"/>, whose prefix it carried. Inside a transaction only tentatively (a rollback would undo
    /// the routing), so the transaction's next command is routed again.
    /// </summary>
    void Batched(NpgsqlConnection connection, string? tenant, bool inTransaction);

    /// <summary>
    /// A command failed on the connection. Inside a transaction, a rollback (to a savepoint) may have undone its
    /// routing, so the connection is routed again before its next command.
    /// </summary>
    void Failed(NpgsqlConnection connection, bool inTransaction);

    /// <summary>
    /// Before <paramref name="connection"/>, a main-pool connection not open yet, opens in a tenant scope: waits for
    /// the tenant's share of the pool, so that no pooled connection is held while waiting, and counts the connection
    /// against it once open (<see cref="Opened"/>). Throws <see cref="Capacity.TenantBusyException"/> when none comes free.
    /// </summary>
    ValueTask ReserveAsync(NpgsqlConnection connection, CancellationToken cancellationToken);

    /// <inheritdoc cref="ReserveAsync"/>
    void Reserve(NpgsqlConnection connection);

    /// <summary>The open that <see cref="ReserveAsync"/> preceded failed: the share goes back.</summary>
    void Unreserve(NpgsqlConnection connection);

    /// <summary>The pool handed the connection out: its session is the pool's reset state, routed by nothing yet.</summary>
    /// <param name="connection">The connection just opened.</param>
    /// <param name="defaultTenant">
    /// The tenant its pool's startup parameters route it to (a dedicated pool's), or null for the main pool, whose
    /// reset state is the shared schema alone.
    /// </param>
    void Opened(NpgsqlConnection connection, string? defaultTenant);
}
