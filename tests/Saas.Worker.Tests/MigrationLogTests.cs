using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Testing;
using Saas.Data;
using Tenants.Shared.Catalog;
using Tenants.Shared.Migrations;

namespace Saas.Worker.Tests;

/// <summary>What the Worker logs while a tenant is provisioned: an operator reads an error-level line as a fault.</summary>
public sealed class MigrationLogTests(PostgresFixture postgres)
{
    private static CancellationToken Cancellation => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Registering_and_migrating_a_new_tenant_logs_no_error()
    {
        string database = await postgres.Cluster.CreateDatabaseAsync(Cancellation);
        await using var worker = new WorkerFactory(database, [new("Tenancy:Migrations:PollInterval", "01:00:00"), new("Tenancy:Jobs:ArticleStatsInterval", "01:00:00")]);
        await using WebApplicationFactory<Program> logged = worker.WithWebHostBuilder(b => b.ConfigureServices(s => s.AddFakeLogging()));
        var catalog = logged.Services.GetRequiredService<ITenantCatalog>();

        // As the Api provisions: register, then migrate before answering (the hosted runner may hear it and migrate too).
        await catalog.CreateAsync("fresh", "Fresh", Cancellation);
        await logged.Services.GetRequiredService<TenantMigrator<AppDbContext>>().MigrateAsync("fresh", Cancellation);
        Assert.Equal(MigrationState.Ready, (await catalog.FindAsync("fresh", Cancellation))!.State);

        IReadOnlyList<FakeLogRecord> logs = logged.Services.GetFakeLogCollector().GetSnapshot();
        Assert.Contains(logs, r => r.Message.StartsWith("Tenant fresh: ", StringComparison.Ordinal));
        string[] errors = [.. logs.Where(r => r.Level >= LogLevel.Error).Select(r => $"{r.Level} {r.Category}: {r.Message}")];
        Assert.True(errors.Length == 0, string.Join(Environment.NewLine, errors));
    }
}
