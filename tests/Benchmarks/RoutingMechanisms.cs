using System.Collections.Concurrent;
using System.Data.Common;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Diagnostics;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Npgsql;
using Saas.Api.Infrastructure;
using Tenants.Shared;
using Tenants.Shared.EntityFramework;
using Tenants.Shared.Routing;
using Tenants.Shared.Security;

namespace Benchmarks;

/// <summary>
/// The routing mechanisms DESIGN.md §2 lists, each as a keyed <see cref="AppDbContext"/> over the same database, so
/// that one process compares them side by side (P1b). The app's own DbContext (unkeyed) is the shipped mechanism:
/// SET batched with the first query, from the tenant's dedicated pool once it is among the busiest. None of these is wired into the product; they exist to be measured.
/// </summary>
internal static class RoutingMechanisms
{
    /// <summary>No tenancy: a plain pool whose startup search_path is the benchmark tenant's schema.</summary>
    public const string Off = "off";

    /// <summary>
    /// No tenancy either, but logged in as the tenant's role (startup parameter) instead of the superuser: what
    /// PostgreSQL's privilege checks cost apart from any routing, which off skips and every routed side pays.
    /// </summary>
    public const string OffAsTenantRole = "off-as-tenant-role";

    /// <summary>
    /// No tenancy either, but the context's options built as <c>AddDbContext</c> builds them (the app's service
    /// provider, so EF Core logs through the app's logging), as the shipped context's are: what that costs apart from
    /// any tenancy, which off skips.
    /// </summary>
    public const string OffRegistered = "off-registered";

    /// <summary>One pool for all tenants; <c>SET search_path</c> (and <c>SET ROLE</c>) in a round trip of its own on every open.</summary>
    public const string SetOnOpen = "set-on-open";

    /// <summary>The shipped mechanism: the app's own (unkeyed) context, as the Api registers it.</summary>
    public const string Shipped = "shipped";

    /// <summary>
    /// The shipped mechanism with dedicated pools off: every tenant on the shared pool, SET batched with the first
    /// query, once per context (the context keeps its routed connection).
    /// </summary>
    public const string SharedPoolOnly = "shared-pool-only";

    /// <summary>
    /// The shared pool as routed before a context kept its connection: EF's open and close around every query, so
    /// each query takes a connection through the pool reset and is routed again.
    /// </summary>
    public const string SharedPoolPerQuery = "shared-pool-per-query";

    /// <summary>The shared pool without the tenant role (<c>Tenancy:TenantRoles=false</c>): search_path only.</summary>
    public const string BatchedWithoutRole = "batched-without-role";

    /// <summary>A pool per tenant whose startup parameters carry the search_path and role: no statement at all.</summary>
    public const string PerTenantSource = "per-tenant-source";

    public static void Add(IServiceCollection services, string database, string offTenant)
    {
        NpgsqlDataSource off = OffSource(database, offTenant, role: null);
        services.AddKeyedScoped(Off, (_, _) => new AppDbContext(new DbContextOptionsBuilder<AppDbContext>().UseNpgsql(off).Options));
        services.AddKeyedScoped(OffRegistered, (sp, _) => new AppDbContext(new DbContextOptionsBuilder<AppDbContext>().UseApplicationServiceProvider(sp).UseNpgsql(off).Options));

        services.AddKeyedSingleton(OffAsTenantRole, (sp, _) => OffSource(database, offTenant,
            TenantRoleNames.NameFor(offTenant, sp.GetRequiredService<IOptions<TenancyOptions>>().Value.TenantRolePrefix)));
        services.AddKeyedScoped(OffAsTenantRole, (sp, _) => new AppDbContext(new DbContextOptionsBuilder<AppDbContext>()
            .UseNpgsql(sp.GetRequiredKeyedService<NpgsqlDataSource>(OffAsTenantRole)).Options));

        services.AddKeyedScoped(SetOnOpen, (sp, _) => new AppDbContext(new DbContextOptionsBuilder<AppDbContext>()
            .UseNpgsql(sp.GetRequiredService<TenantDataSource>().Shared)
            .AddInterceptors(new RouteOnOpen(sp.GetRequiredService<ITenantConnectionRouting>()))
            .Options));

        AddShippedOnSharedPool(services, SharedPoolOnly, sp => sp.GetRequiredService<ITenantConnectionRouting>());

        services.AddKeyedScoped(SharedPoolPerQuery, (sp, _) =>
        {
            var builder = new DbContextOptionsBuilder<AppDbContext>();
            builder.UseNpgsql(sp.GetRequiredService<TenantDataSource>().Shared).AddTenantRouting(sp.GetRequiredService<ITenantConnectionRouting>());
            return new AppDbContext(builder.Options);
        });

        services.AddKeyedSingleton<ITenantConnectionRouting>(BatchedWithoutRole, (sp, _) => new SetSearchPathOnOpen(
            Options.Create(new TenancyOptions { SharedSchema = sp.GetRequiredService<IOptions<TenancyOptions>>().Value.SharedSchema, TenantRoles = false })));
        AddShippedOnSharedPool(services, BatchedWithoutRole, sp => sp.GetRequiredKeyedService<ITenantConnectionRouting>(BatchedWithoutRole));

        services.AddSingleton<PerTenantSources>();
        services.AddKeyedScoped(PerTenantSource, (sp, _) =>
        {
            // A connection object, not the data source, goes to EF: EF builds an internal service provider per data source.
            NpgsqlConnection connection = sp.GetRequiredService<PerTenantSources>().For(TenantContext.CurrentTenant!).CreateConnection();
            return new AppDbContext(new DbContextOptionsBuilder<AppDbContext>().UseNpgsql(connection, contextOwnsConnection: true).Options);
        });
    }

    /// <summary>A plain pool with no tenancy: the tenant's schema as its startup search_path, logged in as the role given, if any.</summary>
    private static NpgsqlDataSource OffSource(string database, string tenant, string? role)
    {
        var builder = new NpgsqlDataSourceBuilder(database);
        builder.ConnectionStringBuilder.SearchPath = tenant;
        if (role is not null)
        {
            builder.ConnectionStringBuilder.Options = $"-c role={role}";
        }

        return builder.Build();
    }

    /// <summary>The shipped context over a data source of its own whose dedicated pools are off: the shared pool only.</summary>
    private static void AddShippedOnSharedPool(IServiceCollection services, string key, Func<IServiceProvider, ITenantConnectionRouting> routing)
    {
        services.AddKeyedSingleton(key, (sp, _) => WithoutDedicatedPools(sp, routing(sp)));
        services.AddKeyedScoped(key, (sp, _) =>
        {
            var builder = new DbContextOptionsBuilder<AppDbContext>();
            builder.UseTenantSchemas(sp.GetRequiredKeyedService<TenantDataSource>(key), routing(sp));
            return new AppDbContext(builder.Options);
        });
    }

    private static TenantDataSource WithoutDedicatedPools(IServiceProvider services, ITenantConnectionRouting routing)
    {
        TenancyOptions shipped = services.GetRequiredService<IOptions<TenancyOptions>>().Value;
        var options = new TenancyOptions
        {
            SharedSchema = shipped.SharedSchema,
            TenantRoles = shipped.TenantRoles,
            TenantRolePrefix = shipped.TenantRolePrefix,
            DedicatedPools = new DedicatedPoolOptions { Tenants = 0 },
        };
        return new TenantDataSource(services.GetRequiredService<IConfiguration>().GetConnectionString(AppDataExtensions.DatabaseName)!, routing, Options.Create(options));
    }

    /// <summary>The pre-batching mechanism: route eagerly as soon as the pool hands a connection out.</summary>
    private sealed class RouteOnOpen(ITenantConnectionRouting routing) : DbConnectionInterceptor
    {
        public override async Task ConnectionOpenedAsync(DbConnection connection, ConnectionEndEventData eventData, CancellationToken cancellationToken = default)
        {
            var npgsql = (NpgsqlConnection)connection;
            routing.Opened(npgsql, defaultTenant: null);
            await routing.RouteAsync(npgsql, justOpened: true, inTransaction: false, cancellationToken);
        }
    }

    /// <summary>One data source per tenant, built on first use: the tenant's schema, the shared one, and its role at startup.</summary>
    private sealed class PerTenantSources(IConfiguration configuration, IOptions<TenancyOptions> options) : IDisposable
    {
        private readonly ConcurrentDictionary<string, NpgsqlDataSource> _sources = new(StringComparer.Ordinal);

        public NpgsqlDataSource For(string tenant) => _sources.GetOrAdd(tenant, t =>
        {
            TenancyOptions settings = options.Value;
            var builder = new NpgsqlDataSourceBuilder(configuration.GetConnectionString(AppDataExtensions.DatabaseName));
            builder.ConnectionStringBuilder.SearchPath = $"{PgIdentifier.Quote(t)}, {PgIdentifier.Quote(settings.SharedSchema)}";
            if (settings.TenantRoles)
            {
                builder.ConnectionStringBuilder.Options = $"-c role={TenantRoleNames.NameFor(t, settings.TenantRolePrefix)}";
            }

            return builder.Build();
        });

        public void Dispose()
        {
            foreach (NpgsqlDataSource source in _sources.Values)
            {
                source.Dispose();
            }
        }
    }
}
