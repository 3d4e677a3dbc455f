using System.Collections.Concurrent;
using System.Data.Common;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Diagnostics;
using Microsoft.EntityFrameworkCore.Infrastructure;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Npgsql;
using Saas.Data;
using Tenants.Shared;
using Tenants.Shared.EntityFramework;
using Tenants.Shared.Routing;
using Tenants.Shared.Security;

namespace Benchmarks;

/// <summary>
/// The routing mechanisms the tenancy could use, each as a keyed <see cref="AppDbContext"/> over the same database, so
/// that one process compares them side by side (P1b). The app's own DbContext (unkeyed) is the shipped mechanism:
/// SET batched with the first query, from the tenant's dedicated pool once it is among the busiest. Every side builds
/// its context's options once, as the shipped registration does, except the one that measures EF's per-context
/// default. None of these is wired into the product; they exist to be measured.
/// </summary>
internal static class RoutingMechanisms
{
    /// <summary>
    /// No tenancy: a plain pool whose startup search_path is the benchmark tenant's schema, the context registered as
    /// the shipped one is (AddDbContext with its options built once, EF Core logging through the app's). The baseline.
    /// </summary>
    public const string Off = "off";

    /// <summary>
    /// No tenancy either, but logged in as the tenant's role (startup parameter) instead of the superuser: what
    /// PostgreSQL's privilege checks cost apart from any routing, which off skips and every routed side pays.
    /// </summary>
    public const string OffAsTenantRole = "off-as-tenant-role";

    /// <summary>
    /// No tenancy either, the options built per context as AddDbContext builds them by default (a scoped options
    /// lifetime): what most apps' registrations cost, which neither off nor the shipped context pays.
    /// </summary>
    public const string OffOptionsPerContext = "off-options-per-context";

    /// <summary>
    /// No tenancy either, with context pooling (AddDbContextPool, Aspire's AddNpgsqlDbContext default): contexts and
    /// their EF services reused across requests: what a team without this template registers.
    /// </summary>
    public const string OffPooled = "off-pooled";

    /// <summary>
    /// Off's pooled contexts with an interceptor that does nothing, of the three kinds tenant routing registers
    /// (connection, command, transaction): what EF Core's interception costs by itself, whatever the interceptor does.
    /// </summary>
    public const string OffPooledIntercepted = "off-pooled-intercepted";

    /// <summary>
    /// Off's pooled contexts with a connection interceptor that does nothing: what EF Core's connection events cost by
    /// themselves, which tenant routing no longer pays since it extends Npgsql's connection instead.
    /// </summary>
    public const string OffPooledConnectionIntercepted = "off-pooled-connection-intercepted";

    /// <summary>One pool for all tenants; <c>SET search_path</c> (and <c>SET ROLE</c>) in a round trip of its own on every open.</summary>
    public const string SetOnOpen = "set-on-open";

    /// <summary>The shipped mechanism: the app's own (unkeyed) context, as the Api registers it.</summary>
    public const string Shipped = "shipped";

    /// <summary>
    /// The shipped mechanism with dedicated pools off: every tenant on the main pool, SET batched with the first
    /// query, once per context (the context keeps its routed connection).
    /// </summary>
    public const string SharedPoolOnly = "shared-pool-only";

    /// <summary>
    /// The main pool as routed before a context kept its connection: EF's open and close around every query, so
    /// each query takes a connection through the pool reset and is routed again.
    /// </summary>
    public const string SharedPoolPerQuery = "shared-pool-per-query";

    /// <summary>The main pool without the tenant role (<c>Tenancy:TenantRoles=false</c>): search_path only.</summary>
    public const string BatchedWithoutRole = "batched-without-role";

    /// <summary>A pool per tenant whose startup parameters carry the search_path and role: no statement at all.</summary>
    public const string PerTenantSource = "per-tenant-source";

    public static void Add(IServiceCollection services, string database, string offTenant)
    {
        NpgsqlDataSource off = OffSource(database, offTenant, role: null);
        services.AddKeyedSingleton(Off, (sp, _) => Once(sp, b => b.UseNpgsql(off)));
        services.AddKeyedScoped(Off, (sp, _) => new AppDbContext(sp.GetRequiredKeyedService<DbContextOptions<AppDbContext>>(Off)));

        services.AddKeyedScoped(OffOptionsPerContext, (sp, _) => new AppDbContext(new DbContextOptionsBuilder<AppDbContext>().UseApplicationServiceProvider(sp).UseNpgsql(off).Options));

        // What AddDbContextPool registers, over off's pool: a scope leases a context from the pool and returns it.
        services.AddKeyedSingleton(OffPooled, (sp, _) => new PooledDbContextFactory<AppDbContext>(Once(sp, b => b.UseNpgsql(off))));
        services.AddKeyedScoped(OffPooled, (sp, _) => sp.GetRequiredKeyedService<PooledDbContextFactory<AppDbContext>>(OffPooled).CreateDbContext());

        services.AddKeyedSingleton(OffPooledIntercepted, (sp, _) => new PooledDbContextFactory<AppDbContext>(Once(sp, b => b.UseNpgsql(off).AddInterceptors(new DoNothing()))));
        services.AddKeyedScoped(OffPooledIntercepted, (sp, _) => sp.GetRequiredKeyedService<PooledDbContextFactory<AppDbContext>>(OffPooledIntercepted).CreateDbContext());

        services.AddKeyedSingleton(OffPooledConnectionIntercepted, (sp, _) => new PooledDbContextFactory<AppDbContext>(Once(sp, b => b.UseNpgsql(off).AddInterceptors(new DoNothingToConnections()))));
        services.AddKeyedScoped(OffPooledConnectionIntercepted, (sp, _) => sp.GetRequiredKeyedService<PooledDbContextFactory<AppDbContext>>(OffPooledConnectionIntercepted).CreateDbContext());

        services.AddKeyedSingleton(OffAsTenantRole, (sp, _) => Once(sp, b => b.UseNpgsql(OffSource(database, offTenant,
            TenantRoleNames.NameFor(offTenant, sp.GetRequiredService<IOptions<TenancyOptions>>().Value.TenantRolePrefix)))));
        services.AddKeyedScoped(OffAsTenantRole, (sp, _) => new AppDbContext(sp.GetRequiredKeyedService<DbContextOptions<AppDbContext>>(OffAsTenantRole)));

        services.AddKeyedSingleton(SetOnOpen, (sp, _) => Once(sp, b => b
            .UseNpgsql(sp.GetRequiredService<TenantDataSource>().Unrouted)
            .AddInterceptors(new RouteOnOpen(sp.GetRequiredService<ITenantConnectionRouting>()))));
        services.AddKeyedScoped(SetOnOpen, (sp, _) => new AppDbContext(sp.GetRequiredKeyedService<DbContextOptions<AppDbContext>>(SetOnOpen)));

        AddShippedOnSharedPool(services, SharedPoolOnly, sp => sp.GetRequiredService<ITenantConnectionRouting>());

        services.AddKeyedSingleton(SharedPoolPerQuery, (sp, _) => Once(sp, b => b
            .UseNpgsql(sp.GetRequiredService<TenantDataSource>().Unrouted)
            .AddTenantRouting(sp.GetRequiredService<ITenantConnectionRouting>())));
        services.AddKeyedScoped(SharedPoolPerQuery, (sp, _) => new AppDbContext(sp.GetRequiredKeyedService<DbContextOptions<AppDbContext>>(SharedPoolPerQuery)));

        services.AddKeyedSingleton<ITenantConnectionRouting>(BatchedWithoutRole, (sp, _) => new SetSearchPathOnOpen(
            Options.Create(new TenancyOptions { SharedSchema = sp.GetRequiredService<IOptions<TenancyOptions>>().Value.SharedSchema, TenantRoles = false })));
        AddShippedOnSharedPool(services, BatchedWithoutRole, sp => sp.GetRequiredKeyedService<ITenantConnectionRouting>(BatchedWithoutRole));

        services.AddSingleton<PerTenantSources>();
        services.AddKeyedSingleton(PerTenantSource, (sp, _) => Once(sp, b => b.UseNpgsql()));
        services.AddKeyedScoped(PerTenantSource, (sp, _) =>
        {
            // A connection per context, not the data source in the options: EF builds an internal service provider per data source.
            var db = new AppDbContext(sp.GetRequiredKeyedService<DbContextOptions<AppDbContext>>(PerTenantSource));
            db.Database.SetDbConnection(sp.GetRequiredService<PerTenantSources>().For(TenantContext.CurrentTenant!).CreateConnection(), contextOwnsConnection: true);
            return db;
        });
    }

    /// <summary>Options built once, as AddDbContext builds them with a singleton options lifetime: over the app's services.</summary>
    private static DbContextOptions<AppDbContext> Once(IServiceProvider services, Action<DbContextOptionsBuilder<AppDbContext>> configure)
    {
        var builder = new DbContextOptionsBuilder<AppDbContext>().UseApplicationServiceProvider(services);
        configure(builder);
        return builder.Options;
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

    /// <summary>
    /// The shipped context over a data source of its own whose dedicated pools are off: the main pool only. Built as
    /// AddTenantDbContext builds it (options once, contexts pooled, each lease told the tenant it was leased for).
    /// </summary>
    private static void AddShippedOnSharedPool(IServiceCollection services, string key, Func<IServiceProvider, ITenantConnectionRouting> routing)
    {
        services.AddKeyedSingleton(key, (sp, _) => WithoutDedicatedPools(sp, routing(sp)));
        services.AddKeyedSingleton(key, (sp, _) => new PooledDbContextFactory<AppDbContext>(
            Once(sp, b => b.UseTenantSchemas(sp.GetRequiredKeyedService<TenantDataSource>(key), routing(sp)))));
        services.AddKeyedScoped(key, (sp, _) => TenantRoutingInterceptor.CreatedFor(
            sp.GetRequiredKeyedService<PooledDbContextFactory<AppDbContext>>(key).CreateDbContext()));
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

    /// <summary>Intercepts every connection, command and transaction event and changes nothing (each method's default).</summary>
    private sealed class DoNothing : IDbConnectionInterceptor, IDbCommandInterceptor, IDbTransactionInterceptor;

    /// <summary>Intercepts every connection event and changes nothing.</summary>
    private sealed class DoNothingToConnections : IDbConnectionInterceptor;

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
