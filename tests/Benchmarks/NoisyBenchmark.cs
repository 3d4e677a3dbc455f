using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.AspNetCore.TestHost;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;
using Postgres.Testing;
using Saas.Api.Tenancy;
using Saas.Data;
using Tenants.Shared.Catalog;
using Tenants.Shared.Migrations;

namespace Benchmarks;

/// <summary>
/// Noisy neighbours: ten tenants on the real Api (Kestrel, its whole pipeline), nine quiet ones each sending steady
/// traffic (one loop, <see cref="QuietRate"/> list requests a second) and one noisy tenant sending a burst: 64
/// concurrent loops, half on the list endpoint, half on a deliberately slow query (<see cref="SlowSeconds"/> s of
/// waiting, holding its connection, as a lock wait or a missing index would). Side by side, rounds in orders balanced for
/// carry-over: the quiet tenants alone; with the noisy one and fairness off (a plan with no practical limits); with it and
/// fairness on (the shipped default plan). The noisy client waits the Retry-After it is given, as .NET's standard
/// resilience handler does; one more side shows a noisy client that ignores it. Both Api instances share one pool
/// size, smaller than the noisy tenant's concurrency, as a pool sized to its server would be.
/// </summary>
internal static class NoisyBenchmark
{
    private const int QuietTenants = 9;
    private const int NoisyLoops = 64;
    private const int QuietRate = 20;
    private const double SlowSeconds = 0.5;
    private const int PoolSize = 40;
    private const string Noisy = "noisy";

    private static readonly string[] Quiet = [.. Enumerable.Range(1, QuietTenants).Select(i => $"quiet_{i}")];

    public static async Task RunAsync(int seconds, int rounds)
    {
        await using PostgresCluster cluster = await PostgresCluster.StartAsync();
        string database = await cluster.CreateDatabaseAsync();
        var pooled = new NpgsqlConnectionStringBuilder(database) { MaxPoolSize = PoolSize }.ConnectionString;
        await using NoisyApi unlimited = Start(new NoisyApi(pooled, fair: false));
        await using NoisyApi fair = Start(new NoisyApi(pooled, fair: true));
        await SeedAsync(fair.Services);
        using HttpClient off = Client(unlimited);
        using HttpClient on = Client(fair);

        (string Name, Func<TimeSpan, Task<Side>> Run)[] sides =
        [
            ("quiet tenants alone", d => RunSideAsync(on, d, noisy: null)),
            ("with the noisy tenant, fairness off", d => RunSideAsync(off, d, noisy: new(HonoursRetryAfter: true))),
            ("with the noisy tenant, fairness on", d => RunSideAsync(on, d, noisy: new(HonoursRetryAfter: true))),
            ("fairness on, noisy ignores Retry-After", d => RunSideAsync(on, d, noisy: new(HonoursRetryAfter: false))),
        ];
        Console.WriteLine($"{Environment.ProcessorCount} cores; pool {PoolSize}; {QuietTenants} quiet tenants x {QuietRate} req/s; noisy: {NoisyLoops} loops (half a {SlowSeconds} s query); {rounds} rounds x {seconds} s per side");
        foreach ((_, Func<TimeSpan, Task<Side>> run) in sides)
        {
            await run(TimeSpan.FromSeconds(3)); // warm-up: JIT, pools, limiter partitions
        }

        var results = sides.Select(_ => new List<Side>()).ToArray();
        int[][] orders = SideBySide.BalancedOrders(sides.Length);
        for (int round = 0; round < rounds; round++)
        {
            foreach (int side in orders[round % orders.Length])
            {
                results[side].Add(await sides[side].Run(TimeSpan.FromSeconds(seconds)));
            }
        }

        Console.WriteLine();
        Console.WriteLine($"{"side",-42} {"quiet p50 ms",13} {"quiet p95 ms",13} {"p95 x alone",12} {"95% interval",14} {"quiet non-2xx",14} {"noisy 2xx/429/503/other",26}");
        for (int side = 0; side < sides.Length; side++)
        {
            List<double> ratios = [.. results[side].Zip(results[0], (s, alone) => s.P95 / alone.P95)];
            (double low, double high) = SideBySide.MedianInterval(ratios);
            Side total = Side.Sum(results[side]);
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{sides[side].Name,-42} {SideBySide.Median([.. results[side].Select(r => r.P50)]),13:F1} {SideBySide.Median([.. results[side].Select(r => r.P95)]),13:F1} {SideBySide.Median(ratios),12:F2} {$"{low:F2}-{high:F2}",14} {total.QuietFailures,14} {$"{total.Noisy2xx}/{total.Noisy429}/{total.Noisy503}/{total.NoisyOther}",26}"));
        }

        Console.WriteLine("per-round p95 ratios to alone:");
        for (int side = 1; side < sides.Length; side++)
        {
            Console.WriteLine($"  {sides[side].Name}: {string.Join(", ", results[side].Zip(results[0], (s, a) => (s.P95 / a.P95).ToString("F2", CultureInfo.InvariantCulture)))}");
        }
    }

    private static async Task<Side> RunSideAsync(HttpClient client, TimeSpan duration, NoisyClient? noisy)
    {
        var latencies = new ConcurrentBag<double>();
        int quietFailures = 0;
        var noisyStatus = new ConcurrentDictionary<int, int>();
        using var stop = new CancellationTokenSource(duration);
        var clock = Stopwatch.StartNew();

        IEnumerable<Task> quiet = Quiet.Select(async tenant =>
        {
            long sent = 0;
            while (!stop.IsCancellationRequested)
            {
                // Steady: each request at its slot on a fixed schedule, however long the last one took.
                TimeSpan slot = TimeSpan.FromSeconds((double)sent++ / QuietRate);
                if (slot > clock.Elapsed)
                {
                    await Task.Delay(slot - clock.Elapsed, CancellationToken.None);
                }

                long started = Stopwatch.GetTimestamp();
                using HttpResponseMessage response = await client.GetAsync($"/t/{tenant}/articles?pageSize=20", CancellationToken.None);
                await response.Content.CopyToAsync(Stream.Null, CancellationToken.None);
                latencies.Add(Stopwatch.GetElapsedTime(started).TotalMilliseconds);
                if (!response.IsSuccessStatusCode)
                {
                    Interlocked.Increment(ref quietFailures);
                }
            }
        });

        IEnumerable<Task> bursts = noisy is null ? [] : Enumerable.Range(0, NoisyLoops).Select(async loop =>
        {
            string path = loop % 2 == 0 ? $"/t/{Noisy}/articles?pageSize=20" : $"/slow/t/{Noisy}/query";
            while (!stop.IsCancellationRequested)
            {
                using HttpResponseMessage response = await client.GetAsync(path, CancellationToken.None);
                await response.Content.CopyToAsync(Stream.Null, CancellationToken.None);
                noisyStatus.AddOrUpdate((int)response.StatusCode, 1, (_, n) => n + 1);
                if (noisy.HonoursRetryAfter && response.Headers.RetryAfter?.Delta is { } wait)
                {
                    try
                    {
                        await Task.Delay(wait, stop.Token);
                    }
                    catch (OperationCanceledException)
                    {
                        // the side is over
                    }
                }
            }
        });

        await Task.WhenAll(quiet.Concat(bursts));
        double[] sorted = [.. latencies.Order()];
        return new Side(
            Percentile(sorted, 0.50),
            Percentile(sorted, 0.95),
            quietFailures,
            noisyStatus.Where(s => s.Key is >= 200 and < 300).Sum(s => s.Value),
            noisyStatus.GetValueOrDefault(429),
            noisyStatus.GetValueOrDefault(503),
            noisyStatus.Where(s => s.Key is not (>= 200 and < 300) and not 429 and not 503).Sum(s => s.Value));
    }

    private static double Percentile(double[] sorted, double p) =>
        sorted.Length == 0 ? double.NaN : sorted[Math.Min(sorted.Length - 1, (int)Math.Ceiling(p * sorted.Length) - 1)];

    private static async Task SeedAsync(IServiceProvider services)
    {
        foreach (string tenant in Quiet.Append(Noisy))
        {
            await services.GetRequiredService<ITenantCatalog>().CreateAsync(tenant, tenant);
            await services.GetRequiredService<TenantMigrator<AppDbContext>>().MigrateAsync(tenant);
            await using NpgsqlConnection connection = await services.GetRequiredService<Tenants.Shared.TenantDataSource>().Unrouted.OpenConnectionAsync();
            await using var seed = new NpgsqlCommand(
                $"INSERT INTO {tenant}.articles (\"Title\", \"Body\") SELECT 'article ' || i, repeat('x', 200) FROM generate_series(1, 50) i", connection);
            await seed.ExecuteNonQueryAsync();
        }
    }

    private static NoisyApi Start(NoisyApi api)
    {
        api.UseKestrel(0);
        api.StartServer();
        return api;
    }

    private static HttpClient Client(NoisyApi api)
    {
        HttpClient client = api.CreateClient();
        client.BaseAddress = api.ClientOptions.BaseAddress;
        client.Timeout = TimeSpan.FromMinutes(2);
        return client;
    }

    private sealed record NoisyClient(bool HonoursRetryAfter);

    private sealed record Side(double P50, double P95, int QuietFailures, int Noisy2xx, int Noisy429, int Noisy503, int NoisyOther)
    {
        public static Side Sum(IEnumerable<Side> sides) => sides.Aggregate(new Side(0, 0, 0, 0, 0, 0, 0), (a, b) =>
            new(0, 0, a.QuietFailures + b.QuietFailures, a.Noisy2xx + b.Noisy2xx, a.Noisy429 + b.Noisy429, a.Noisy503 + b.Noisy503, a.NoisyOther + b.NoisyOther));
    }

    /// <summary>
    /// The real Api, anonymous by route, on the shipped default plan (fair) or on one with no practical limits (not
    /// fair); plus the slow query at /slow/t/{tenant}/query behind the Api's own middleware order.
    /// </summary>
    private sealed class NoisyApi(string database, bool fair) : WebApplicationFactory<TenantResolutionMiddleware>
    {
        protected override void ConfigureWebHost(IWebHostBuilder builder)
        {
            builder.UseContentRoot(BenchTenant.ApiDirectory());
            builder.UseEnvironment("Production");
            builder.UseSetting("ConnectionStrings:appdb", database);
            builder.UseSetting("Tenancy:Resolution:RequireAuthenticatedMember", "false");
            builder.UseSetting("Logging:LogLevel:Default", "Error");
            if (!fair)
            {
                BenchTenant.LiftPlanLimits(builder);
                builder.UseSetting("Tenancy:Plans:standard:StatementTimeout", "00:00:00");
            }

            builder.ConfigureTestServices(services => services.AddSingleton<IStartupFilter, SlowQueryBranch>());
        }
    }

    private sealed class SlowQueryBranch : IStartupFilter
    {
        public Action<IApplicationBuilder> Configure(Action<IApplicationBuilder> next) => app =>
        {
            app.Map("/slow", branch =>
            {
                branch.UseExceptionHandler();
                branch.UseRouting();
                branch.UseAuthentication();
                branch.UseAuthorization();
                branch.UseMiddleware<TenantResolutionMiddleware>();
                branch.UseRateLimiter();
                branch.UseEndpoints(e => e.MapGet("/t/{tenant}/query", async (AppDbContext db, CancellationToken ct) =>
                    (await db.Database.SqlQuery<int>($"SELECT 1 AS \"Value\" FROM pg_sleep({SlowSeconds})").ToListAsync(ct)).Count).RequireTenant());
            });
            next(app);
        };
    }
}
