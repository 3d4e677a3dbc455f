using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Infrastructure;
using Microsoft.EntityFrameworkCore.Migrations;
using Npgsql.EntityFrameworkCore.PostgreSQL.Infrastructure;
using Tenants.Shared.Routing;

namespace Tenants.Shared.EntityFramework;

public static class TenantDbContextOptionsExtensions
{
    /// <summary>
    /// PostgreSQL over the tenant data source, with tenant routing: one EF model for every tenant (no
    /// HasDefaultSchema), whose unqualified tables resolve through the current tenant's search_path.
    /// </summary>
    public static DbContextOptionsBuilder UseTenantSchemas(
        this DbContextOptionsBuilder builder,
        TenantDataSource dataSource,
        ITenantConnectionRouting routing,
        Action<NpgsqlDbContextOptionsBuilder>? npgsqlOptions = null)
    {
        ArgumentNullException.ThrowIfNull(dataSource);
        return builder.UseNpgsql(dataSource.Shared, npgsqlOptions)
            .ReplaceService<IHistoryRepository, TenantHistoryRepository>()
            .AddTenantRouting(routing);
    }

    /// <summary>
    /// Adds tenant routing to a context whose provider is configured elsewhere. Any provider but PostgreSQL's makes
    /// the context throw <see cref="NotSupportedException"/> at its first use.
    /// </summary>
    public static DbContextOptionsBuilder AddTenantRouting(this DbContextOptionsBuilder builder, ITenantConnectionRouting routing)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ((IDbContextOptionsBuilderInfrastructure)builder).AddOrUpdateExtension(new PostgreSqlOnly());
        return builder.AddInterceptors(new TenantRoutingInterceptor(routing));
    }
}
