using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Npgsql;
using Postgres.Testing;
using Saas.Data;
using Tenants.Shared;
using Tenants.Shared.Migrations;

namespace Benchmarks;

/// <summary>
/// P4, flat in tenants: the real Api serving 10 tenants against the same Api serving a database of N registered and
/// migrated tenants with traffic spread over M of them. One throwaway cluster, a database per side, each with an app
/// role of its own (a least-privileged login, NOINHERIT, made a member of its tenants' roles as the migrator does), so
/// that the large side's app role really holds N role memberships. Each side is measured by a child process of its
/// own (<see cref="TenantScaleChild"/>), so that process memory belongs to one configuration; children alternate
/// (small, large, large-few, large-few, large, small) and each figure is the median of a side's runs. Large-few is the
/// large database with traffic over 10 tenants: it tells the registered count's cost from the traffic spread's.
/// </summary>
internal static class TenantScaleBenchmark
{
    private const int SmallTenants = 10;

    public static async Task RunAsync(int large, int trafficked, int seconds, int warmUp)
    {
        trafficked = Math.Clamp(trafficked, 1, large);
        await using PostgresCluster cluster = await PostgresCluster.StartAsync();
        Console.WriteLine($"PostgreSQL: throwaway cluster (fsync off); {Environment.ProcessorCount} cores; small {SmallTenants} tenants, large {large} registered, traffic over {trafficked}; {TenantScaleChild.Concurrency} concurrent clients, {warmUp} s warm-up + {seconds} s measured per run");

        Side small = await ProvisionAsync(cluster, "small", "s", SmallTenants, SmallTenants);
        Side big = await ProvisionAsync(cluster, "large", "l", large, trafficked);

        // The large database with the small side's traffic spread (10 of its seeded tenants): what the registered count
        // alone costs, apart from spreading traffic over more tenants. Information, not a target.
        Side bigFew = big with { Label = "large-few", Trafficked = SmallTenants, Stride = big.Stride * (trafficked / SmallTenants) };

        // Alternated so that drift on the shared box (other work, thermal, page cache) lands on every side alike.
        var runs = new Dictionary<Side, List<ChildResult>> { [small] = [], [big] = [], [bigFew] = [] };
        foreach (Side side in (Side[])[small, big, bigFew, bigFew, big, small])
        {
            runs[side].Add(await RunChildAsync(side, seconds, warmUp));
        }

        Print(small, runs[small], big, runs[big], runs[bigFew]);
    }

    private static async Task<Side> ProvisionAsync(PostgresCluster cluster, string label, string prefix, int tenants, int trafficked)
    {
        var clock = Stopwatch.StartNew();
        string owner = await cluster.CreateDatabaseAsync();
        string appRole = $"app_{label}";
        await AppLogins.CreateAppRoleAsync(owner, appRole, CancellationToken.None);
        await using (var admin = new NpgsqlConnection(owner))
        {
            // As the AppHost sets a database up: the app's role may create nothing, temporary tables included (the
            // Api refuses to start otherwise).
            await admin.OpenAsync();
            string database = PgIdentifier.Quote(admin.Database);
            await using var revoke = new NpgsqlCommand($"REVOKE CREATE ON SCHEMA public FROM PUBLIC; REVOKE TEMPORARY ON DATABASE {database} FROM PUBLIC", admin);
            await revoke.ExecuteNonQueryAsync();
        }

        string app = new NpgsqlConnectionStringBuilder(owner) { Username = appRole }.ConnectionString;
        string[] names = [.. Enumerable.Range(0, tenants).Select(i => $"{prefix}_{i:D5}")];
        int stride = tenants / trafficked; // trafficked tenants spread over the whole catalog, not its first rows
        string[] served = [.. Enumerable.Range(0, trafficked).Select(i => names[i * stride])];

        // The shipped settings (Api/appsettings.json: tenant roles on, default prefix), so the Api finds nothing behind.
        await using (ServiceProvider services = new ServiceCollection()
            .AddLogging(l => l.SetMinimumLevel(LogLevel.Warning))
            .AddTenancy(app, o => o.TenantRoles = true, owner)
            .AddTenantDbContext<AppDbContext>()
            .BuildServiceProvider())
        {
            var registry = services.GetRequiredService<Tenants.Shared.Catalog.ITenantRegistry>();
            foreach (string name in names)
            {
                await registry.RegisterAsync(name);
            }

            TimeSpan registered = clock.Elapsed;
            var progress = new Progress<MigrationProgress>(p =>
            {
                if (p.Done % 1000 == 0)
                {
                    Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  {label}: {p.Done}/{p.Total} migrated, {p.TenantsPerSecond:F0}/s"));
                }
            });
            var runner = services.GetRequiredService<TenantMigrationRunner<AppDbContext>>();
            MigrationRunReport report = await runner.RunAsync(progress: progress);
            if (report.Failed > 0)
            {
                // Reported, then given one more pass (what the Worker's next poll would do): the failures are a finding.
                foreach (var error in report.Outcomes.Where(o => !o.Succeeded).GroupBy(o => o.Error).OrderByDescending(g => g.Count()).Take(3))
                {
                    Console.WriteLine($"  {label}: {error.Count()} failed after {error.Max(o => o.Attempts)} attempts: {error.Key}");
                }

                MigrationRunReport retry = await runner.RunAsync();
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  {label}: second pass: {retry.Outcomes.Count} migrated, {retry.Failed} failed in {retry.Duration.TotalSeconds:F1} s"));
                if (retry.Failed > 0)
                {
                    throw new InvalidOperationException($"{label}: {retry.Failed} tenant(s) still failing after a second pass.");
                }
            }

            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{label}: {tenants} tenants registered in {registered.TotalSeconds:F1} s, all migrated (schemas, tenant roles, grants) in {report.Duration.TotalSeconds:F1} s"));
        }

        await SeedAsync(owner, served);
        NpgsqlConnection.ClearAllPools(); // no idle connection of ours may count among the Api's
        return new Side(label, tenants, app, owner, prefix, trafficked, stride);
    }

    private static async Task SeedAsync(string owner, string[] tenants)
    {
        await using var connection = new NpgsqlConnection(owner);
        await connection.OpenAsync();
        foreach (string[] chunk in tenants.Chunk(100))
        {
            await using var batch = new NpgsqlBatch(connection);
            foreach (string tenant in chunk)
            {
                batch.BatchCommands.Add(new NpgsqlBatchCommand(
                    $"INSERT INTO {PgIdentifier.Quote(tenant)}.articles (\"Title\", \"Body\") SELECT 'article ' || i, repeat('x', 200) FROM generate_series(1, 5) i"));
            }

            await batch.ExecuteNonQueryAsync();
        }
    }

    private static async Task<ChildResult> RunChildAsync(Side side, int seconds, int warmUp)
    {
        ProcessStartInfo start = ThisExecutable.With(["tenants-child", side.App, side.Owner, side.Prefix,
            side.Trafficked.ToString(CultureInfo.InvariantCulture), side.Stride.ToString(CultureInfo.InvariantCulture), seconds.ToString(CultureInfo.InvariantCulture), warmUp.ToString(CultureInfo.InvariantCulture)]);
        using Process child = Process.Start(start) ?? throw new InvalidOperationException("Could not start the child process.");
        ChildResult? result = null;
        while (await child.StandardOutput.ReadLineAsync() is { } line)
        {
            if (line.StartsWith(TenantScaleChild.ResultPrefix, StringComparison.Ordinal))
            {
                result = JsonSerializer.Deserialize<ChildResult>(line[TenantScaleChild.ResultPrefix.Length..]);
            }
            else
            {
                Console.WriteLine($"  {side.Label}: {line}");
            }
        }

        await child.WaitForExitAsync();
        if (child.ExitCode != 0 || result is null)
        {
            throw new InvalidOperationException($"The {side.Label} child exited with {child.ExitCode} and no result.");
        }

        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"  {side.Label}: p50 {result.P50Ms:F2} ms (by {TenantScaleChild.WindowSeconds} s window: {string.Join(", ", result.WindowP50Ms.Select(w => w.ToString("F1", CultureInfo.InvariantCulture)))}), catalog queries {result.CatalogQueriesPerSecond:F1}/s on requests, {result.CatalogRefreshesPerSecond:F1}/s refreshing, {result.RequestsPerSecond:F0} req/s, working set {Mb(result.WorkingSetBytes):F1} MB, GC heap {Mb(result.GcHeapBytes):F1} MB, max connections {result.MaxConnections}"));
        return result;
    }

    private static void Print(Side small, List<ChildResult> smallRuns, Side large, List<ChildResult> largeRuns, List<ChildResult> fewRuns)
    {
        double Med(List<ChildResult> runs, Func<ChildResult, double> pick) => Median([.. runs.Select(pick)]);
        string smallHead = $"small ({small.Tenants})", largeHead = $"large ({large.Tenants})", fewHead = $"traffic on {SmallTenants}";

        Console.WriteLine();
        Console.WriteLine($"{"measure (median of runs)",-50} {smallHead,12} {largeHead,14} {"large/small",12} {fewHead,14} {"ratio",8}");
        var ratios = new List<(string Measure, double Ratio)>();
        void Row(string measure, Func<ChildResult, double> pick, string format, bool target)
        {
            double s = Med(smallRuns, pick), l = Med(largeRuns, pick), f = Med(fewRuns, pick);
            double ratio = l / s;
            if (target)
            {
                ratios.Add((measure, ratio));
            }

            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{measure,-50} {s.ToString(format, CultureInfo.InvariantCulture),12} {l.ToString(format, CultureInfo.InvariantCulture),14} {ratio,12:F3} {f.ToString(format, CultureInfo.InvariantCulture),14} {f / s,8:F3}{(target ? string.Empty : "  (info)")}"));
        }

        Row("p50 latency (ms)", r => r.P50Ms, "F2", target: true);
        Row("p95 latency (ms)", r => r.P95Ms, "F2", target: false);
        Row("working set after run (MB)", r => Mb(r.WorkingSetBytes), "F1", target: true);
        Row("GC heap after full GC (MB)", r => Mb(r.GcHeapBytes), "F1", target: true);
        Row("EF models (distinct IModel)", r => r.Models, "F0", target: true);
        Row("open connections (max sampled)", r => r.MaxConnections, "F0", target: true);
        Row("Max Pool Size (configured)", r => r.MaxPoolSize, "F0", target: false);
        Row("dedicated pools: tenants x pool size (configured)", r => r.DedicatedPoolBound, "F0", target: false);
        Row("dedicated pools held at the end", r => r.DedicatedPoolTenants, "F0", target: false);
        Row("catalog queries on requests (/s, misses)", r => r.CatalogQueriesPerSecond, "F1", target: false);
        Row("catalog queries refreshing (/s, background)", r => r.CatalogRefreshesPerSecond, "F1", target: false);
        Row("throughput (req/s)", r => r.RequestsPerSecond, "F0", target: false);
        Row("tenants served during the run", r => r.TenantsServed, "F0", target: false);
        Row("store cache entries (CatalogTenantStore)", r => r.StoreCacheEntries, "F0", target: false);
        Row("registry cache entries (TenantCatalog)", r => r.RegistryCacheEntries, "F0", target: false);

        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"runs p50 (ms): small {string.Join(", ", smallRuns.Select(r => r.P50Ms.ToString("F2", CultureInfo.InvariantCulture)))}; large {string.Join(", ", largeRuns.Select(r => r.P50Ms.ToString("F2", CultureInfo.InvariantCulture)))}; large, traffic on {SmallTenants} {string.Join(", ", fewRuns.Select(r => r.P50Ms.ToString("F2", CultureInfo.InvariantCulture)))}"));
        Console.WriteLine();
        foreach ((string measure, double ratio) in ratios)
        {
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"target {measure} ratio <= 1.1: {ratio:F3} {(ratio <= 1.1 ? "met" : "NOT met")}"));
        }

        // The app's main pool, its dedicated pools and the owner's (catalog bootstrap, provisioning) are all the Api's pools.
        bool bounded = largeRuns.Concat(smallRuns).Concat(fewRuns).All(r => r.MaxConnections <= r.MaxPoolSize + r.DedicatedPoolBound + r.OwnerMaxPoolSize);
        Console.WriteLine($"target connections bounded by configuration (<= app Max Pool Size + dedicated pools' tenants x size + owner Max Pool Size): {(bounded ? "met" : "NOT met")}");
    }

    private static double Mb(long bytes) => bytes / 1024.0 / 1024.0;

    private static double Median(double[] values)
    {
        Array.Sort(values);
        return values.Length % 2 == 1 ? values[values.Length / 2] : (values[(values.Length / 2) - 1] + values[values.Length / 2]) / 2;
    }

    private sealed record Side(string Label, int Tenants, string App, string Owner, string Prefix, int Trafficked, int Stride);
}
