using System.Runtime.CompilerServices;
using Microsoft.Extensions.Options;
using Npgsql;

namespace Tenants.Shared.Routing;

/// <summary>
/// Routes by a session <c>SET search_path</c> right after a connection opens inside a tenant scope; outside any
/// scope it costs nothing, because the data source's startup search_path is the shared schema alone and Npgsql's pool
/// reset (DISCARD ALL, pipelined with the next command) brings every returned connection back to it. One pool serves
/// every tenant, so connections stay bounded by the pool size whatever the tenant count. With
/// <see cref="TenancyOptions.TenantRoles"/> on, it also switches to the tenant's role (DESIGN.md §8).
/// </summary>
public sealed class SetSearchPathOnOpen(IOptions<TenancyOptions> options) : ITenantConnectionRouting
{
    private readonly TenancyOptions _options = options.Value;
    private readonly string _quotedSharedSchema = PgIdentifier.Quote(options.Value.SharedSchema);

    // What each live connection object serves now; null = shared schema only. Weak: it dies with the connection.
    private readonly ConditionalWeakTable<NpgsqlConnection, StrongBox<string?>> _serving = [];

    public void Route(NpgsqlConnection connection, bool justOpened, bool inTransaction)
    {
        if (Plan(connection, justOpened, inTransaction) is { } plan)
        {
            using NpgsqlCommand command = new(plan.Sql, connection);
            command.ExecuteNonQuery();
            plan.Serving.Value = plan.Tenant;
        }
    }

    public async ValueTask RouteAsync(NpgsqlConnection connection, bool justOpened, bool inTransaction, CancellationToken cancellationToken)
    {
        if (Plan(connection, justOpened, inTransaction) is { } plan)
        {
            await using NpgsqlCommand command = new(plan.Sql, connection);
            await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            plan.Serving.Value = plan.Tenant;
        }
    }

    private RoutePlan? Plan(NpgsqlConnection connection, bool justOpened, bool inTransaction)
    {
        string? tenant = TenantContext.CurrentTenant;
        StrongBox<string?> serving = _serving.GetValue(connection, static _ => new StrongBox<string?>());
        if (justOpened)
        {
            serving.Value = null; // the pool reset restored the startup search_path: the shared schema alone
        }

        if (string.Equals(serving.Value, tenant, StringComparison.Ordinal))
        {
            return null;
        }

        if (inTransaction && !justOpened)
        {
            // A session SET inside a transaction is undone by a rollback, after which we could no longer say what
            // the connection serves. Refuse rather than guess: a transaction never spans two tenants.
            throw new InvalidOperationException(
                $"A connection serving tenant '{serving.Value ?? "(none)"}' was used in a transaction for tenant '{tenant ?? "(none)"}'. " +
                "Open connections and transactions inside the tenant scope that uses them.");
        }

        // The tenant name was validated when its scope opened; quoting anyway keeps this safe on its own.
        // With tenant roles on, the role switch rides in the same round trip; the pool reset undoes it too.
        string sql = (tenant, _options.TenantRoles) switch
        {
            (null, false) => $"SET search_path TO {_quotedSharedSchema}",
            (null, true) => $"SET search_path TO {_quotedSharedSchema}; RESET ROLE",
            (_, false) => $"SET search_path TO {PgIdentifier.Quote(tenant)}, {_quotedSharedSchema}",
            (_, true) => $"SET search_path TO {PgIdentifier.Quote(tenant)}, {_quotedSharedSchema}; " +
                $"SET ROLE {PgIdentifier.Quote(Security.TenantRoles.NameFor(tenant, _options.TenantRolePrefix))}",
        };
        return new RoutePlan(sql, tenant, serving);
    }

    private sealed record RoutePlan(string Sql, string? Tenant, StrongBox<string?> Serving);
}
