using Microsoft.EntityFrameworkCore.Migrations;
using Npgsql.EntityFrameworkCore.PostgreSQL.Migrations.Internal;

namespace Tenants.Shared.EntityFramework;

#pragma warning disable EF1001 // Internal EF Core API: NpgsqlHistoryRepository is the only way to keep Npgsql's history SQL while moving the table.

/// <summary>
/// Pins <c>__EFMigrationsHistory</c> to the current tenant's schema. Unpinned, Npgsql looks for the history table in
/// <c>public</c> (efcore.pg #3180): every tenant then reads the wrong history, or none, and re-applies migrations.
/// A history repository lives as long as its DbContext, and the migrator builds one context per tenant.
/// </summary>
internal sealed class TenantHistoryRepository(HistoryRepositoryDependencies dependencies) : NpgsqlHistoryRepository(dependencies)
{
    private readonly string? _schema = TenantContext.CurrentTenant;

    protected override string? TableSchema => _schema ?? base.TableSchema;
}
#pragma warning restore EF1001
