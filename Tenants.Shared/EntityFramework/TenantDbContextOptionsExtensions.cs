using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Infrastructure;
using Npgsql;
using Npgsql.EntityFrameworkCore.PostgreSQL.Infrastructure;
using Tenants.Shared.Routing;

namespace Tenants.Shared.EntityFramework;

public static class TenantDbContextOptionsExtensions
{
    /// <summary>
    /// PostgreSQL over the tenant data source, with tenant routing: one EF model for every tenant (no
    /// HasDefaultSchema), whose unqualified tables resolve through the current tenant's search_path. A context created
    /// in the scope of a tenant that holds a dedicated pool takes its connection from there (DESIGN-NOTES, Routing). A
    /// context created in a tenant's scope keeps its connection, once open, until it is disposed: keep contexts short-lived
    /// (one per request or unit of work), as EF Core advises anyway.
    /// </summary>
    public static DbContextOptionsBuilder UseTenantSchemas(
        this DbContextOptionsBuilder builder,
        TenantDataSource dataSource,
        ITenantConnectionRouting routing,
        Action<NpgsqlDbContextOptionsBuilder>? npgsqlOptions = null)
    {
        ArgumentNullException.ThrowIfNull(dataSource);

        // A connection object, always (never the data source), so that every context shares one EF service provider
        // and one model whichever pool its connection comes from. The context owns it and disposes it.
        string? tenant = TenantContext.CurrentTenant;
        DedicatedTenantPools.DedicatedConnection? dedicated = tenant is not null ? dataSource.Dedicated.TryRent(tenant) : null;
        NpgsqlConnection connection = dedicated?.Connection ?? dataSource.Shared.CreateConnection();
        builder.UseNpgsql(connection, contextOwnsConnection: true, npgsqlOptions);
        ((IDbContextOptionsBuilderInfrastructure)builder).AddOrUpdateExtension(new TenantRoutingExtension(routing, dedicated, keepOpenFor: tenant));
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
        ((IDbContextOptionsBuilderInfrastructure)builder).AddOrUpdateExtension(new TenantRoutingExtension(routing, dedicated: null, keepOpenFor: null));
        return builder;
    }
}
