using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Testing;
using Npgsql;

namespace Saas.Worker.Tests;

/// <summary>
/// The hosted Worker on an existing Citus coordinator (what <c>Postgres:Mode=external</c> hands it): it says so at
/// start, and warns when schema-based sharding is off, which would leave every tenant on the coordinator.
/// </summary>
public sealed class CitusDetectionTests(CitusFixture citus) : IClassFixture<CitusFixture>
{
    private static CancellationToken Cancellation => TestContext.Current.CancellationToken;

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task The_worker_reports_the_coordinator_it_found_and_warns_when_tenants_would_stay_on_it(bool sharding)
    {
        string database = await citus.Cluster.CreateDatabaseAsync(Cancellation);
        if (sharding)
        {
            await using var connection = new NpgsqlConnection(database);
            await connection.OpenAsync(Cancellation);
            await using var command = new NpgsqlCommand($"ALTER DATABASE {connection.Database} SET citus.enable_schema_based_sharding = on", connection);
            await command.ExecuteNonQueryAsync(Cancellation);
        }

        await using var worker = new WorkerFactory(database, [new("Tenancy:Migrations:PollInterval", "01:00:00")]);
        await using WebApplicationFactory<Program> logged = worker.WithWebHostBuilder(b => b.ConfigureServices(s => s.AddFakeLogging()));
        FakeLogCollector logs = logged.Services.GetFakeLogCollector();
        FakeLogRecord? found = null;
        await Eventually.UntilAsync(
            () => Task.FromResult((found = logs.GetSnapshot().FirstOrDefault(r => r.Message.StartsWith("Citus coordinator (", StringComparison.Ordinal))) is not null),
            "the Worker's word on the cluster",
            Cancellation);

        Assert.Equal(sharding ? LogLevel.Information : LogLevel.Warning, found!.Level);
        Assert.Contains($"{CitusCluster.WorkerCount} worker(s)", found.Message, StringComparison.Ordinal);
        Assert.Contains(sharding ? "placed on a worker" : "tenants stay on the coordinator", found.Message, StringComparison.Ordinal);
    }
}
