using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Infrastructure;
using Npgsql.EntityFrameworkCore.PostgreSQL.Infrastructure;
using Tenants.Shared.Routing;

namespace Tenants.Shared.EntityFramework;

public static class TenantDbContextOptionsExtensions
{
    /// <summary>
    /// PostgreSQL over the tenant data source, with tenant routing: one EF model for every tenant (no
    /// HasDefaultSchema), whose unqualified tables resolve through the current tenant's search_path. The options hold
    /// nothing of any one context, so build them once (AddTenantDbContext registers them as a singleton). A context
    /// takes its connection when it first needs one. One that AddTenantDbContext created in a tenant's scope takes it
    /// from that tenant's dedicated pool if it holds one, and keeps it open while that scope is
    /// current: keep contexts short-lived (one per request or unit of work), as EF Core advises anyway. Any other
    /// context takes it from the main pool and opens and closes it per query, as EF does.
    /// </summary>
    public static DbContextOptionsBuilder UseTenantSchemas(
        this DbContextOptionsBuilder builder,
        TenantDataSource dataSource,
        ITenantConnectionRouting routing,
        Action<NpgsqlDbContextOptionsBuilder>? npgsqlOptions = null)
    {
        ArgumentNullException.ThrowIfNull(dataSource);

        // No connection and no data source in the options: every context shares one EF service provider and one
        // model whichever pool its connection comes from, and the interceptor supplies each context's connection.
        builder.UseNpgsql(npgsqlOptions);
        ((IDbContextOptionsBuilderInfrastructure)builder).AddOrUpdateExtension(new TenantRoutingExtension(routing, dataSource));
        return builder;
    }

    /// <summary>
    /// Adds tenant routing, and the migrations history table pinned to the current tenant, to a context whose provider
    /// is configured elsewhere. Any provider but PostgreSQL's makes the context throw
    /// <see cref="NotSupportedException"/> at its first use.
    /// </summary>
    public static DbContextOptionsBuilder AddTenantRouting(this DbContextOptionsBuilder builder, ITenantConnectionRouting routing)
    {
        ArgumentNullException.ThrowIfNull(builder);
        // The connection may be the app's own, which the context would then never close: EF's open and close per query stay.
        ((IDbContextOptionsBuilderInfrastructure)builder).AddOrUpdateExtension(new TenantRoutingExtension(routing, dataSource: null));
        return builder;
    }
}
