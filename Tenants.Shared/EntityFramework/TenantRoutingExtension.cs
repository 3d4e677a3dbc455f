using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Infrastructure;
using Microsoft.Extensions.DependencyInjection;

namespace Tenants.Shared.EntityFramework;

/// <summary>
/// Makes a DbContext that uses tenant routing refuse, at its first use, any provider but PostgreSQL's: other
/// databases have no search_path, so a silent fall-through would put every tenant's rows in one place.
/// </summary>
internal sealed class PostgreSqlOnly : IDbContextOptionsExtension
{
    public DbContextOptionsExtensionInfo Info => new ExtensionInfo(this);

    public static NotSupportedException NotSupported(string provider) =>
        new($"Schema-per-tenant routing works only with PostgreSQL (Npgsql.EntityFrameworkCore.PostgreSQL); this context uses {provider}. " +
            "Other databases have no search_path: use PostgreSQL, or leave tenant routing off for this context.");

    public void ApplyServices(IServiceCollection services)
    {
        // Nothing to add: this extension only validates.
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

        public override int GetServiceProviderHashCode() => 0;

        public override bool ShouldUseSameServiceProvider(DbContextOptionsExtensionInfo other) => other is ExtensionInfo;

        public override void PopulateDebugInfo(IDictionary<string, string> debugInfo) => debugInfo["TenantRouting"] = "1";
    }
}
