using System.Diagnostics;
using System.Globalization;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Npgsql;
using Postgres.Testing;
using Saas.Data;
using Tenants.Shared;
using Tenants.Shared.Catalog;
using Tenants.Shared.Migrations;

namespace Benchmarks;

/// <summary>
/// The migration runner against the naive way (a sequential loop of MigrateAsync per tenant, routed and pinned the
/// same way, so both do the same correct work): N fresh tenants, a re-run with nothing pending, and new-tenant
/// provisioning latency, directly and through the Api and the Worker (<see cref="RequestPathProvisioning"/>). Each side gets its own database on one throwaway cluster, in one run.
/// </summary>
internal static class MigrationBenchmark
{
    public static async Task RunAsync(int tenants, int provisioningSamples)
    {
        await using PostgresCluster cluster = await PostgresCluster.StartAsync();
        Console.WriteLine($"PostgreSQL: {(Environment.GetEnvironmentVariable(PostgresCluster.ConnectionStringVariable) is null ? "throwaway cluster (fsync off)" : "external")}; {Environment.ProcessorCount} cores; {tenants} tenants");

        // Ours
        await using ServiceProvider ours = Services(await cluster.CreateDatabaseAsync());
        await RegisterAsync(ours, tenants);
        var runner = ours.GetRequiredService<TenantMigrationRunner<AppDbContext>>();
        TimeSpan oursFresh = await TimeAsync(async () => Check(await runner.RunAsync(), tenants));
        TimeSpan oursNothing = await TimeAsync(async () => Check(await runner.RunAsync(), 0));

        // Naive
        await using ServiceProvider naive = Services(await cluster.CreateDatabaseAsync());
        await RegisterAsync(naive, tenants);
        TimeSpan naiveFresh = await TimeAsync(() => NaiveLoopAsync(naive));
        TimeSpan naiveNothing = await TimeAsync(() => NaiveLoopAsync(naive));
        await CheckMigratedAsync(ours, tenants);
        await CheckMigratedAsync(naive, tenants);

        Console.WriteLine();
        Console.WriteLine($"{"measure",-34} {"ours",10} {"naive",10} {"naive/ours",11}");
        Row($"migrate {tenants} fresh tenants", oursFresh, naiveFresh);
        Row("re-run, nothing pending", oursNothing, naiveNothing);

        // Provisioning latency: what POST /tenants does (register, migrate), then the first tenant query.
        var samples = new List<double>();
        var catalog = ours.GetRequiredService<ITenantCatalog>();
        var migrator = ours.GetRequiredService<TenantMigrator<AppDbContext>>();
        var context = ours.GetRequiredService<TenantContext>();
        for (int i = 0; i < provisioningSamples; i++)
        {
            string name = $"new_{i:D4}";
            var clock = Stopwatch.StartNew();
            await catalog.CreateAsync(name, name);
            await migrator.MigrateAsync(name);
            await using (await context.EnterAsync(name))
            await using (NpgsqlConnection first = await ours.GetRequiredService<TenantDataSource>().OpenConnectionAsync())
            await using (var query = new NpgsqlCommand("SELECT count(*) FROM pg_tables WHERE schemaname = current_schema()", first))
            {
                await query.ExecuteScalarAsync(); // the tenant's first query, routed like any other
            }

            samples.Add(clock.Elapsed.TotalMilliseconds);
        }

        samples.Sort();
        Console.WriteLine();
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"new tenant, create call to first tenant query ({provisioningSamples} samples): p50 {Percentile(samples, 0.50):F0} ms, p95 {Percentile(samples, 0.95):F0} ms"));

        List<double> requestPath = await RequestPathProvisioning.MeasureAsync(cluster, provisioningSamples);
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"the same through the request path: POST /tenants, the Worker migrates, 201, first tenant request: p50 {Percentile(requestPath, 0.50):F0} ms, p95 {Percentile(requestPath, 0.95):F0} ms"));
    }

    private static ServiceProvider Services(string connectionString) => new ServiceCollection()
        .AddLogging(l => l.SetMinimumLevel(LogLevel.Warning))
        .AddTenancy(connectionString, o => o.TenantRoles = false) // one role for all, as the naive loop: no role DDL on one side only
        .AddTenantDbContext<AppDbContext>()
        .BuildServiceProvider();

    private static async Task RegisterAsync(ServiceProvider services, int tenants)
    {
        var registry = services.GetRequiredService<ITenantRegistry>();
        for (int i = 0; i < tenants; i++)
        {
            await registry.RegisterAsync($"t_{i:D5}");
        }
    }

    // What a team writes first: every registered tenant, one after another, CREATE SCHEMA then MigrateAsync.
    private static async Task NaiveLoopAsync(ServiceProvider services)
    {
        var context = services.GetRequiredService<TenantContext>();
        var dataSource = services.GetRequiredService<TenantDataSource>();
        foreach (string tenant in (await services.GetRequiredService<ITenantRegistry>().RegisteredTenantsAsync()).Order(StringComparer.Ordinal))
        {
            await using (NpgsqlCommand create = dataSource.Unrouted.CreateCommand($"CREATE SCHEMA IF NOT EXISTS {PgIdentifier.Quote(tenant)}"))
            {
                await create.ExecuteNonQueryAsync();
            }

            await using TenantScope scope = await context.EnterAsync(tenant);
            await using AsyncServiceScope di = services.CreateAsyncScope();
            await di.ServiceProvider.GetRequiredService<AppDbContext>().Database.MigrateAsync();
        }
    }

    private static void Check(MigrationRunReport report, int expected)
    {
        if (report.Failed > 0 || report.Outcomes.Count != expected)
        {
            throw new InvalidOperationException($"The runner migrated {report.Outcomes.Count} tenant(s), {report.Failed} failed; expected {expected}.");
        }
    }

    /// <summary>Refuses a side that skipped work (its time would mean nothing): every tenant's history holds every migration.</summary>
    private static async Task CheckMigratedAsync(ServiceProvider services, int tenants)
    {
        int migrations;
        await using (AsyncServiceScope scope = services.CreateAsyncScope())
        {
            migrations = scope.ServiceProvider.GetRequiredService<AppDbContext>().Database.GetMigrations().Count();
        }

        var dataSource = services.GetRequiredService<TenantDataSource>();
        long applied = 0;
        for (int i = 0; i < tenants; i++)
        {
            string history = $"{PgIdentifier.Quote($"t_{i:D5}")}.\"__EFMigrationsHistory\"";
            await using NpgsqlCommand exists = dataSource.Unrouted.CreateCommand($"SELECT to_regclass('{history}') IS NOT NULL");
            if ((bool)(await exists.ExecuteScalarAsync())!)
            {
                await using NpgsqlCommand count = dataSource.Unrouted.CreateCommand($"SELECT count(*) FROM {history}");
                applied += (long)(await count.ExecuteScalarAsync())!;
            }
        }

        if (applied != (long)tenants * migrations)
        {
            throw new InvalidOperationException($"{applied} of {tenants} x {migrations} migrations are recorded applied: a side skipped work.");
        }
    }

    private static async Task<TimeSpan> TimeAsync(Func<Task> work)
    {
        var clock = Stopwatch.StartNew();
        await work();
        return clock.Elapsed;
    }

    private static void Row(string measure, TimeSpan ours, TimeSpan naive) =>
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{measure,-34} {ours.TotalSeconds,9:F2}s {naive.TotalSeconds,9:F2}s {naive / ours,10:F1}x"));

    private static double Percentile(List<double> sorted, double p) =>
        sorted[Math.Clamp((int)Math.Ceiling(p * sorted.Count) - 1, 0, sorted.Count - 1)];
}
