using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Migrations;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Npgsql;
using Npgsql.EntityFrameworkCore.PostgreSQL.Infrastructure;

namespace Tenants.Shared.EntityFramework;

/// <summary>
/// Makes <typeparamref name="TContext"/> over an owner connection, for migrating: the app's model and Npgsql
/// options, the history table pinned to the current tenant, and no tenant routing (the migrator sets the schema-only
/// search_path itself, and the owner never switches to a tenant's role).
/// </summary>
public sealed class MigrationContextFactory<TContext>(IServiceProvider services, Action<NpgsqlDbContextOptionsBuilder>? npgsqlOptions)
    where TContext : DbContext
{
    public TContext Create(NpgsqlConnection ownerConnection)
    {
        DbContextOptions<TContext> options = new DbContextOptionsBuilder<TContext>()
            .UseNpgsql(ownerConnection, npgsqlOptions)
            .ReplaceService<IHistoryRepository, TenantHistoryRepository>()
            .UseLoggerFactory(services.GetService<ILoggerFactory>())
            .Options;
        return ActivatorUtilities.CreateInstance<TContext>(services, options);
    }
}
