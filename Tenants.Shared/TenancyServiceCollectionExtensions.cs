using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using Npgsql.EntityFrameworkCore.PostgreSQL.Infrastructure;
using Tenants.Shared.Catalog;
using Tenants.Shared.EntityFramework;
using Tenants.Shared.Migrations;
using Tenants.Shared.Routing;

namespace Tenants.Shared;

public static class TenancyServiceCollectionExtensions
{
    /// <summary>Registers the tenancy core: options, the data source, routing, the registry and the context.</summary>
    public static IServiceCollection AddTenancy(this IServiceCollection services, string connectionString, Action<TenancyOptions>? configure = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(connectionString);
        OptionsBuilder<TenancyOptions> options = services.AddOptions<TenancyOptions>();
        if (configure is not null)
        {
            options.Configure(configure);
        }

        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<TenancyOptions>, TenancyOptionsValidator>());
        options.ValidateOnStart();

        services.TryAddSingleton<ITenantConnectionRouting, SetSearchPathOnOpen>();
        services.TryAddSingleton(sp => new TenantDataSource(
            connectionString,
            sp.GetRequiredService<ITenantConnectionRouting>(),
            sp.GetRequiredService<IOptions<TenancyOptions>>()));
        services.TryAddSingleton<TenantCatalog>();
        services.TryAddSingleton<ITenantRegistry>(sp => sp.GetRequiredService<TenantCatalog>());
        services.TryAddSingleton<ITenantCatalog>(sp => sp.GetRequiredService<TenantCatalog>());
        services.TryAddSingleton<TenantContext>();
        services.TryAddSingleton<TenantRegistrations>();
        return services;
    }

    /// <summary>
    /// Registers <typeparamref name="TContext"/> over the tenant data source, routed to the current tenant, and the
    /// <see cref="TenantMigrator{TContext}"/> and <see cref="TenantMigrationRunner{TContext}"/> that bring tenants'
    /// schemas to its latest migration.
    /// </summary>
    public static IServiceCollection AddTenantDbContext<TContext>(this IServiceCollection services, Action<NpgsqlDbContextOptionsBuilder>? npgsqlOptions = null)
        where TContext : DbContext
    {
        services.AddOptions<MigrationRunnerOptions>();
        services.TryAddSingleton<TenantMigrator<TContext>>();
        services.TryAddSingleton<TenantMigrationRunner<TContext>>();
        return services.AddDbContext<TContext>((sp, builder) => builder.UseTenantSchemas(
            sp.GetRequiredService<TenantDataSource>(),
            sp.GetRequiredService<ITenantConnectionRouting>(),
            npgsqlOptions));
    }
}
