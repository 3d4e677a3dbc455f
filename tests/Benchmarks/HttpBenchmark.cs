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
using Saas.Api.Apis;
using Saas.Api.Infrastructure;
using Tenants.Shared;
using Tenants.Shared.Catalog;
using Tenants.Shared.Migrations;

namespace Benchmarks;

/// <summary>
/// P1: the Api's tenant-routed list endpoint (/t/bench/articles: resolution, scope, routing, tenant role) against the
/// identical handler with tenancy off (/off/articles: the same ArticlesApi.ListAsync over a plain pool whose startup
/// search_path is the tenant's schema), in one process, on real Kestrel, loaded over loopback by a .NET client.
/// Rounds alternate which side goes first; throughput is the median of the rounds. Round trips are counted as
/// Npgsql command spans per request.
/// </summary>
internal static class HttpBenchmark
{
    private const string Tenant = "bench";
    private const string Routed = "/t/bench/articles?pageSize=20";
    private const string Off = "/off/articles?pageSize=20";

    public static async Task RunAsync(int seconds, int concurrency, int rounds)
    {
        await using PostgresCluster cluster = await PostgresCluster.StartAsync();
        string database = await cluster.CreateDatabaseAsync();
        var offBuilder = new NpgsqlDataSourceBuilder(database);
        offBuilder.ConnectionStringBuilder.SearchPath = Tenant;
        await using NpgsqlDataSource offSource = offBuilder.Build();

        await using var api = new BenchApi(database, offSource);
        api.UseKestrel(0);
        api.StartServer();
        await SeedAsync(api.Services, database);
        using HttpClient client = api.CreateClient();
        client.BaseAddress = api.ClientOptions.BaseAddress;

        Console.WriteLine($"{Environment.ProcessorCount} cores; Kestrel on {client.BaseAddress}; {concurrency} concurrent clients; {rounds} x {seconds} s per side");
        // Warm-up until throughput settles (tiered JIT, pools, caches): the first seconds run at a fraction of it.
        for (int i = 0; i < 3; i++)
        {
            await LoadAsync(client, Routed, concurrency, TimeSpan.FromSeconds(4));
            await LoadAsync(client, Off, concurrency, TimeSpan.FromSeconds(4));
        }

        List<double> routed = [], off = [];
        for (int round = 0; round < rounds; round++)
        {
            bool routedFirst = round % 2 == 0;
            foreach (bool isRouted in (bool[])[routedFirst, !routedFirst])
            {
                double rps = await LoadAsync(client, isRouted ? Routed : Off, concurrency, TimeSpan.FromSeconds(seconds));
                (isRouted ? routed : off).Add(rps);
            }
        }

        double routedTrips = await RoundTripsAsync(client, Routed);
        double offTrips = await RoundTripsAsync(client, Off);

        Console.WriteLine();
        Console.WriteLine($"{"measure",-34} {"routed",10} {"off",10} {"routed/off",11}");
        Console.WriteLine($"{"throughput, median (req/s)",-34} {Median(routed),10:F0} {Median(off),10:F0} {Median(routed) / Median(off),11:F3}");
        Console.WriteLine($"{"round trips per request",-34} {routedTrips,10:F2} {offTrips,10:F2} {routedTrips - offTrips,+11:+0.00;-0.00}");
        Console.WriteLine($"rounds (req/s): routed {string.Join(", ", routed.Select(r => r.ToString("F0", CultureInfo.InvariantCulture)))}; off {string.Join(", ", off.Select(r => r.ToString("F0", CultureInfo.InvariantCulture)))}");
    }

    private static async Task SeedAsync(IServiceProvider services, string database)
    {
        await services.GetRequiredService<ITenantCatalog>().CreateAsync(Tenant, "Bench");
        await services.GetRequiredService<TenantMigrator<AppDbContext>>().MigrateAsync(Tenant);
        await using var connection = new NpgsqlConnection(database);
        await connection.OpenAsync();
        await using var seed = new NpgsqlCommand(
            $"INSERT INTO {Tenant}.articles (\"Title\", \"Body\") SELECT 'article ' || i, repeat('x', 200) FROM generate_series(1, 50) i", connection);
        await seed.ExecuteNonQueryAsync();
    }

    private static async Task<double> LoadAsync(HttpClient client, string path, int concurrency, TimeSpan duration)
    {
        long done = 0;
        var clock = Stopwatch.StartNew();
        await Task.WhenAll(Enumerable.Range(0, concurrency).Select(async _ =>
        {
            while (clock.Elapsed < duration)
            {
                using HttpResponseMessage response = await client.GetAsync(path);
                if (!response.IsSuccessStatusCode)
                {
                    throw new InvalidOperationException($"{path}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
                }

                await response.Content.CopyToAsync(Stream.Null);
                Interlocked.Increment(ref done);
            }
        }));
        return done / clock.Elapsed.TotalSeconds;
    }

    private static async Task<double> RoundTripsAsync(HttpClient client, string path)
    {
        const int Requests = 200;
        long commands = 0;
        using var listener = new ActivityListener
        {
            ShouldListenTo = s => s.Name == "Npgsql",
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllData,
            ActivityStopped = a =>
            {
                if (!a.DisplayName.StartsWith("CONNECT", StringComparison.Ordinal))
                {
                    Interlocked.Increment(ref commands);
                }
            },
        };
        ActivitySource.AddActivityListener(listener);
        for (int i = 0; i < Requests; i++)
        {
            using HttpResponseMessage response = await client.GetAsync(path);
            response.EnsureSuccessStatusCode();
        }

        return (double)Interlocked.Read(ref commands) / Requests;
    }

    private static double Median(List<double> values)
    {
        double[] sorted = [.. values.Order()];
        return sorted.Length % 2 == 1 ? sorted[sorted.Length / 2] : (sorted[(sorted.Length / 2) - 1] + sorted[sorted.Length / 2]) / 2;
    }

    /// <summary>The real Api, plus the tenancy-off twin of its list endpoint on a branch of its own.</summary>
    private sealed class BenchApi(string database, NpgsqlDataSource offSource) : WebApplicationFactory<AppDbContext> // any Api type: its assembly's entry point runs
    {
        protected override void ConfigureWebHost(IWebHostBuilder builder)
        {
            builder.UseContentRoot(ApiDirectory()); // its appsettings.json, as when the Api runs
            builder.UseEnvironment("Production");
            builder.UseSetting("ConnectionStrings:appdb", database);
            builder.UseSetting("Tenancy:Resolution:RequireAuthenticatedMember", "false"); // anonymous, on both sides
            builder.UseSetting("Logging:LogLevel:Default", "Warning");
            builder.ConfigureTestServices(services =>
            {
                services.AddKeyedScoped("off", (_, _) => new AppDbContext(new DbContextOptionsBuilder<AppDbContext>().UseNpgsql(offSource).Options));
                services.AddSingleton<IStartupFilter, OffBranch>();
            });
        }
    }

    internal static string ApiDirectory()
    {
        for (DirectoryInfo? d = new(AppContext.BaseDirectory); d is not null; d = d.Parent)
        {
            if (File.Exists(Path.Combine(d.FullName, "Api", "appsettings.json")))
            {
                return Path.Combine(d.FullName, "Api");
            }
        }

        throw new InvalidOperationException("Api/appsettings.json is not above the benchmark's directory.");
    }

    /// <summary>/off/articles: routing, authentication and authorization as on the Api, then the same handler.</summary>
    private sealed class OffBranch : IStartupFilter
    {
        public Action<IApplicationBuilder> Configure(Action<IApplicationBuilder> next) => app =>
        {
            app.Map("/off", off =>
            {
                off.UseRouting();
                off.UseAuthentication();
                off.UseAuthorization();
                off.UseEndpoints(e => e.MapGet("/articles", (HttpContext http, CancellationToken ct, int page = 1, int pageSize = 20) =>
                    ArticlesApi.ListAsync(http.RequestServices.GetRequiredKeyedService<AppDbContext>("off"), ct, page, pageSize)));
            });
            next(app);
        };
    }
}
