using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Diagnostics;
using Microsoft.EntityFrameworkCore.Infrastructure;
using Microsoft.EntityFrameworkCore.Migrations;
using Microsoft.EntityFrameworkCore.Storage;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Npgsql.EntityFrameworkCore.PostgreSQL.Storage.Internal;
using Tenants.Shared.Routing;

namespace Tenants.Shared.EntityFramework;

/// <summary>
/// Tenant routing in a DbContext's options. Its services (the routing interceptor, commands that route before they
/// run, and the history table pinned to the tenant) go into EF Core's internal service provider once, where EF builds
/// them per context. The extension holds no state of any one context, so the options are built once per app, not per
/// context: building options is most of what a registration costs per context. Each context's connection, tenant and
/// lease live in its own
/// <see cref="TenantRoutingInterceptor"/>. Refuses, at the context's first use, any provider but PostgreSQL's: other
/// databases have no search_path, so a silent fall-through would put every tenant's rows in one place.
/// </summary>
/// <param name="routing">The routing mechanism.</param>
/// <param name="dataSource">
/// Where each context takes its connection from, when it first needs one (a tenant's dedicated pool or the shared
/// pool); null when the app gives the context its connection itself.
/// </param>
internal sealed class TenantRoutingExtension(ITenantConnectionRouting routing, TenantDataSource? dataSource)
    : IDbContextOptionsExtension
{
    private DbContextOptionsExtensionInfo? _info;

    public ITenantConnectionRouting Routing => routing;

    public TenantDataSource? DataSource => dataSource;

    public DbContextOptionsExtensionInfo Info => _info ??= new ExtensionInfo(this);

    public static NotSupportedException NotSupported(string provider) =>
        new($"Schema-per-tenant routing works only with PostgreSQL (Npgsql.EntityFrameworkCore.PostgreSQL); this context uses {provider}. " +
            "Other databases have no search_path: use PostgreSQL, or leave tenant routing off for this context.");

    public void ApplyServices(IServiceCollection services)
    {
        // Scoped in EF Core's internal provider: one per context, which reads this context's own extension.
        services.AddScoped<TenantRoutingInterceptor>();
        services.AddScoped<IInterceptor>(sp => sp.GetRequiredService<TenantRoutingInterceptor>());
        services.AddScoped<IResettableService>(sp => sp.GetRequiredService<TenantRoutingInterceptor>());
#pragma warning disable EF1001 // Internal EF Core API: Npgsql's connection service, which TenantRoutedConnection extends.
        services.Replace(ServiceDescriptor.Scoped<INpgsqlRelationalConnection, TenantRoutedConnection>());
#pragma warning restore EF1001
        services.Replace(ServiceDescriptor.Scoped<IHistoryRepository, TenantHistoryRepository>());
        services.Replace(ServiceDescriptor.Singleton<IRelationalCommandBuilderFactory, TenantRoutedCommandBuilderFactory>());
    }

    public void Validate(IDbContextOptions options)
    {
        IDbContextOptionsExtension? provider = options.Extensions.FirstOrDefault(e => e.Info.IsDatabaseProvider);
        if (provider?.GetType().Assembly != typeof(NpgsqlDbContextOptionsBuilderExtensions).Assembly)
        {
            throw NotSupported(provider?.GetType().Assembly.GetName().Name ?? "no database provider");
        }
    }

    private sealed class ExtensionInfo(IDbContextOptionsExtension extension) : DbContextOptionsExtensionInfo(extension)
    {
        public override bool IsDatabaseProvider => false;

        public override string LogFragment => "TenantRouting ";

        // Every context with tenant routing shares one internal service provider: what differs per context is data.
        public override int GetServiceProviderHashCode() => 0;

        public override bool ShouldUseSameServiceProvider(DbContextOptionsExtensionInfo other) => other is ExtensionInfo;

        public override void PopulateDebugInfo(IDictionary<string, string> debugInfo) => debugInfo["TenantRouting"] = "1";
    }
}
