using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Infrastructure;
using Microsoft.EntityFrameworkCore.Migrations;
using Npgsql;
using Npgsql.EntityFrameworkCore.PostgreSQL.Infrastructure;
using Tenants.Shared.Routing;

namespace Tenants.Shared.EntityFramework;

public static class TenantDbContextOptionsExtensions
{
    /// <summary>
    /// PostgreSQL over the tenant data source, with tenant routing: one EF model for every tenant (no
    /// HasDefaultSchema), whose unqualified tables resolve through the current tenant's search_path. A context created
    /// in the scope of a tenant that holds a dedicated pool takes its connection from there (DESIGN-NOTES, Routing).
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
        DedicatedTenantPools.DedicatedConnection? dedicated = TenantContext.CurrentTenant is { } tenant ? dataSource.Dedicated.TryRent(tenant) : null;
        NpgsqlConnection connection = dedicated?.Connection ?? dataSource.Shared.CreateConnection();
        ((IDbContextOptionsBuilderInfrastructure)builder).AddOrUpdateExtension(new PostgreSqlOnly());
        return builder.UseNpgsql(connection, contextOwnsConnection: true, npgsqlOptions)
            .ReplaceService<IHistoryRepository, TenantHistoryRepository>()
            .AddInterceptors(new TenantRoutingInterceptor(routing, dedicated));
    }

    /// <summary>
    /// Adds tenant routing to a context whose provider is configured elsewhere. Any provider but PostgreSQL's makes
    /// the context throw <see cref="NotSupportedException"/> at its first use.
    /// </summary>
    public static DbContextOptionsBuilder AddTenantRouting(this DbContextOptionsBuilder builder, ITenantConnectionRouting routing)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ((IDbContextOptionsBuilderInfrastructure)builder).AddOrUpdateExtension(new PostgreSqlOnly());
        return builder.AddInterceptors(new TenantRoutingInterceptor(routing, dedicated: null));
    }
}
