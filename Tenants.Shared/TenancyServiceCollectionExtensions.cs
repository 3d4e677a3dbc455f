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
using Tenants.Shared.Placement;
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
            sp.GetService<ILogger<DedicatedTenantPools>>(),
            sp.GetRequiredService<TimeProvider>()));
        services.TryAddSingleton(sp => new OwnerDataSource(
            ownerConnectionString,
            connectionString,
            sp.GetRequiredService<IOptions<TenancyOptions>>()));
        services.TryAddSingleton<TenantPrivileges>();
        services.TryAddSingleton<TenantCatalog>();
        services.TryAddSingleton<ITenantRegistry>(sp => sp.GetRequiredService<TenantCatalog>());
        services.TryAddSingleton<ITenantCatalog>(sp => sp.GetRequiredService<TenantCatalog>());
        services.TryAddSingleton<TenantContext>();

        // The logger factory takes the app's scope provider (an app's own wins): every line written inside a tenant scope
        // carries its tenant.
        services.TryAddSingleton<IExternalScopeProvider, TenantLogScopeProvider>();
        services.TryAddSingleton<CatalogNotifications>();
        services.TryAddSingleton<TenantOffboarding>();
        services.TryAddSingleton<TenantPlacement>();
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
    /// Registers <typeparamref name="TContext"/> over the tenant data source, routed to the current tenant, with its
    /// contexts pooled as <c>AddDbContextPool</c> pools them, and the <see cref="TenantMigrator{TContext}"/> and
    /// <see cref="TenantMigrationRunner{TContext}"/> that bring tenants' schemas to its latest migration.
    /// </summary>
    /// <param name="services">The service collection.</param>
    /// <param name="npgsqlOptions">Adjusts Npgsql's EF Core options (the migrations assembly, say).</param>
    /// <param name="poolSize">The most contexts the pool keeps for reuse; more may be leased at once.</param>
    public static IServiceCollection AddTenantDbContext<TContext>(
        this IServiceCollection services,
        Action<NpgsqlDbContextOptionsBuilder>? npgsqlOptions = null,
        int poolSize = DefaultPoolSize)
        where TContext : DbContext
    {
        services.AddOptions<MigrationRunnerOptions>();
        services.TryAddSingleton(sp => new MigrationContextFactory<TContext>(sp, npgsqlOptions));
        services.TryAddSingleton<TenantMigrator<TContext>>();
        services.TryAddSingleton<TenantMigrationRunner<TContext>>();

        // A leased context holds no tenant and no connection until it is used: the options are the same for every
        // tenant (UseTenantSchemas), and a context returned to the pool gives its connection back and forgets its tenant.
        services.AddDbContextPool<TContext>(
            (sp, builder) => builder.UseTenantSchemas(sp.GetRequiredService<TenantDataSource>(), sp.GetRequiredService<ITenantConnectionRouting>(), npgsqlOptions),
            poolSize);

        // Leased as AddDbContextPool leases it, then told the tenant scope that leased it: that tenant's dedicated
        // pool lends its connection, which it keeps while the scope is current, until the scope releases its
        // connections or the context goes back to the pool.
        ServiceDescriptor leased = services.Last(d => d.ServiceType == typeof(TContext) && !d.IsKeyedService);
        Func<IServiceProvider, object> lease = leased.ImplementationFactory
            ?? throw new InvalidOperationException($"{typeof(TContext).Name} was registered before AddTenantDbContext; register it once, here.");
        return services.Replace(ServiceDescriptor.Scoped(sp => TenantRoutingInterceptor.CreatedFor((TContext)lease(sp))));
    }

    /// <summary>The pool size of <c>AddDbContextPool</c> and Aspire's <c>AddNpgsqlDbContext</c>.</summary>
    public const int DefaultPoolSize = 1024;
}
