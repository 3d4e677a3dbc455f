using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Npgsql.EntityFrameworkCore.PostgreSQL.Infrastructure;
using Tenants.Shared.Catalog;
using Tenants.Shared.EntityFramework;
using Tenants.Shared.Migrations;
using Tenants.Shared.Offboarding;
using Tenants.Shared.Routing;
using Tenants.Shared.Security;

namespace Tenants.Shared;

public static class TenancyServiceCollectionExtensions
{
    /// <summary>Registers the tenancy core: options, the data sources, routing, the registry and the context.</summary>
    /// <param name="services">The service collection.</param>
    /// <param name="connectionString">The app's connections: tenant data and catalog reads, ideally a least-privileged role.</param>
    /// <param name="configure">Adjusts <see cref="TenancyOptions"/>.</param>
    /// <param name="ownerConnectionString">
    /// The schema owner's connections, for creating the catalog, migrating and granting; null when the
    /// app's role owns the schemas itself.
    /// </param>
    public static IServiceCollection AddTenancy(this IServiceCollection services, string connectionString, Action<TenancyOptions>? configure = null, string? ownerConnectionString = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(connectionString);
        OptionsBuilder<TenancyOptions> options = services.AddOptions<TenancyOptions>();
        if (configure is not null)
        {
            options.Configure(configure);
        }

        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<TenancyOptions>, TenancyOptionsValidator>());
        options.ValidateOnStart();

        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton<ITenantConnectionRouting, SetSearchPathOnOpen>();
        services.TryAddSingleton(sp => new TenantDataSource(
            connectionString,
            sp.GetRequiredService<ITenantConnectionRouting>(),
            sp.GetRequiredService<IOptions<TenancyOptions>>(),
            sp.GetService<ILogger<DedicatedTenantPools>>()));
        services.TryAddSingleton(sp => new OwnerDataSource(
            ownerConnectionString,
            connectionString,
            sp.GetRequiredService<IOptions<TenancyOptions>>()));
        services.TryAddSingleton<TenantPrivileges>();
        services.TryAddSingleton<TenantCatalog>();
        services.TryAddSingleton<ITenantRegistry>(sp => sp.GetRequiredService<TenantCatalog>());
        services.TryAddSingleton<ITenantCatalog>(sp => sp.GetRequiredService<TenantCatalog>());
        services.TryAddSingleton<TenantContext>();
        services.TryAddSingleton<CatalogNotifications>();
        services.TryAddSingleton<TenantOffboarding>();
        services.TryAddSingleton<TenantRequests>();
        services.TryAddSingleton<Capacity.TenantPlans>();

        // Every process hears catalog changes made by the others, so none serves a changed tenant from its cache.
        services.TryAddSingleton<TenantChanges>();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IHostedService, TenantChanges>(sp => sp.GetRequiredService<TenantChanges>()));

        // Refuses, as the host starts, a pooler that would not keep a client on one server session.
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IHostedService, SessionPoolingStartupCheck>(sp => new SessionPoolingStartupCheck(
            connectionString,
            ownerConnectionString,
            sp.GetRequiredService<IOptions<TenancyOptions>>())));

        // Refuses, as the host starts, an app role that is a superuser or INHERIT, or may create anything.
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IHostedService, AppRoleStartupCheck>(sp => new AppRoleStartupCheck(
            connectionString,
            sp.GetRequiredService<OwnerDataSource>(),
            sp.GetRequiredService<IOptions<TenancyOptions>>().Value.SharedSchema,
            sp.GetService<ILogger<AppRoleStartupCheck>>())));
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
        services.TryAddSingleton(sp => new MigrationContextFactory<TContext>(sp, npgsqlOptions));
        services.TryAddSingleton<TenantMigrator<TContext>>();
        services.TryAddSingleton<TenantMigrationRunner<TContext>>();
        // The options hold nothing of any one context (UseTenantSchemas): built once, not per context.
        services.AddDbContext<TContext>(
            (sp, builder) => builder.UseTenantSchemas(sp.GetRequiredService<TenantDataSource>(), sp.GetRequiredService<ITenantConnectionRouting>(), npgsqlOptions),
            contextLifetime: ServiceLifetime.Scoped,
            optionsLifetime: ServiceLifetime.Singleton);

        // Activated as AddDbContext would, then told the tenant whose scope it was created in: that tenant's dedicated
        // pool lends its connection, which it keeps while the scope is current, until its DI scope's KeptConnections
        // are released.
        services.TryAddScoped<KeptConnections>();
        ObjectFactory<TContext> activate = ActivatorUtilities.CreateFactory<TContext>([]);
        return services.Replace(ServiceDescriptor.Scoped(sp => TenantRoutingInterceptor.CreatedFor(
            activate(sp, null), TenantContext.CurrentTenant, sp.GetRequiredService<KeptConnections>())));
    }
}
