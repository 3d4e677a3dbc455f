using System.Diagnostics;
using System.Globalization;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Npgsql;
using Postgres.Testing;
using Saas.Api.Apis;
using Saas.Data;
using Tenants.Shared;
using Tenants.Shared.Catalog;
using Tenants.Shared.Migrations;
using Tenants.Shared.Placement;

namespace Benchmarks;

/// <summary>
/// The price of Citus's extra hop and how evenly it places tenants. Routed requests (the list endpoint's handler: a
/// DI scope, a pooled context in a tenant's scope, a count and a page of 20) over 20 tenants, side by side on one
/// server and through a Citus coordinator with two workers, every node a throwaway server of this machine; then
/// a thousand tenants (or as many as asked) migrated on the cluster and counted per worker.
/// </summary>
internal static class CitusBenchmark
{
    private const int Tenants = 20;

    public static async Task RunAsync(int seconds, int concurrency, int rounds, int placed)
    {
        await using PostgresCluster single = await PostgresCluster.StartAsync();
        await using CitusCluster citus = await CitusCluster.StartAsync();
        await using ServiceProvider direct = Services(await single.CreateDatabaseAsync());
        await using ServiceProvider routed = Services(await ShardedDatabaseAsync(citus));
        string[] tenants = [.. Enumerable.Range(0, Tenants).Select(i => $"hop_{i:D2}")];
        await ProvisionAsync(direct, tenants);
        await ProvisionAsync(routed, tenants);
        IReadOnlyDictionary<string, TenantNode> spread = await routed.GetRequiredService<TenantPlacement>().NodesAsync();

        Console.WriteLine($"{Environment.ProcessorCount} cores (every node on this machine); EF Core, no HTTP; {Tenants} tenants, " +
            $"{spread.Values.Distinct().Count()} workers used; {concurrency} concurrent loops; {rounds} rounds x {seconds} s per side");
        await SideBySide.RunAsync(
            [
                ("one server", List(direct, tenants)),
                ("Citus: coordinator, then a worker", List(routed, tenants)),
            ],
            concurrency,
            TimeSpan.FromSeconds(seconds),
            rounds,
            warmUp: TimeSpan.FromSeconds(5));

        // Placement: a fresh database on the same cluster, the tenants registered and migrated by the runner.
        await using ServiceProvider many = Services(await ShardedDatabaseAsync(citus));
        var registry = many.GetRequiredService<ITenantRegistry>();
        for (int i = 0; i < placed; i++)
        {
            await registry.RegisterAsync($"p_{i:D5}");
        }

        var clock = Stopwatch.StartNew();
        MigrationRunReport report = await many.GetRequiredService<TenantMigrationRunner<AppDbContext>>().RunAsync();
        if (report.Failed > 0 || report.Migrated != placed)
        {
            throw new InvalidOperationException($"{report.Migrated} of {placed} tenants migrated, {report.Failed} failed.");
        }

        TimeSpan migration = clock.Elapsed;
        Dictionary<TenantNode, int> perNode = (await many.GetRequiredService<TenantPlacement>().NodesAsync()).Values
            .GroupBy(n => n).ToDictionary(g => g.Key, g => g.Count());
        Console.WriteLine();
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"placement of {placed} tenants migrated by the runner in {migration.TotalSeconds:F1} s: " +
            $"{string.Join(", ", perNode.OrderBy(p => p.Key.Port).Select(p => $"{p.Key} {p.Value}"))}; " +
            $"largest/smallest {(double)perNode.Values.Max() / perNode.Values.Min():F3}"));
    }

    private static ServiceProvider Services(string connectionString) => new ServiceCollection()
        .AddLogging(l => l.SetMinimumLevel(LogLevel.Warning))
        .AddTenancy(connectionString, o => o.TenantRoles = false) // one role on both sides: the hop alone differs
        .AddTenantDbContext<AppDbContext>()
        .BuildServiceProvider();

    private static async Task<string> ShardedDatabaseAsync(CitusCluster citus)
    {
        string database = await citus.CreateDatabaseAsync();
        await using var connection = new NpgsqlConnection(database);
        await connection.OpenAsync();
        await using var sharding = new NpgsqlCommand($"ALTER DATABASE {connection.Database} SET citus.enable_schema_based_sharding = on", connection);
        await sharding.ExecuteNonQueryAsync();
        return database;
    }

    /// <summary>Each tenant registered, migrated, and given 50 articles, through its own routed scope.</summary>
    private static async Task ProvisionAsync(ServiceProvider services, string[] tenants)
    {
        foreach (string tenant in tenants)
        {
            await services.GetRequiredService<ITenantRegistry>().RegisterAsync(tenant);
        }

        await services.GetRequiredService<TenantMigrationRunner<AppDbContext>>().RunAsync();
        foreach (string tenant in tenants)
        {
            await using TenantScope scope = await services.GetRequiredService<TenantContext>().EnterAsync(tenant);
            await using NpgsqlConnection connection = await services.GetRequiredService<TenantDataSource>().OpenConnectionAsync();
            await using var seed = new NpgsqlCommand(
                "INSERT INTO articles (\"Title\", \"Body\") SELECT 'article ' || i, repeat('x', 200) FROM generate_series(1, 50) i", connection);
            await seed.ExecuteNonQueryAsync();
        }
    }

    private static Func<Task> List(IServiceProvider root, string[] tenants)
    {
        TenantContext context = root.GetRequiredService<TenantContext>();
        int next = 0;
        return async () =>
        {
            string tenant = tenants[(uint)Interlocked.Increment(ref next) % tenants.Length];
            await using TenantScope scope = await context.EnterAsync(tenant);
            await using AsyncServiceScope services = root.CreateAsyncScope();
            await ArticlesApi.ListAsync(services.ServiceProvider.GetRequiredService<AppDbContext>(), CancellationToken.None, page: 1, pageSize: 20);
        };
    }
}
