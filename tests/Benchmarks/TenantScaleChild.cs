using System.Collections.Concurrent;
using System.Diagnostics;
using System.Reflection;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.AspNetCore.TestHost;
using Microsoft.EntityFrameworkCore.Metadata;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Npgsql;
using Saas.Data;
using Saas.Api.Tenancy;
using Tenants.Shared;
using Tenants.Shared.Catalog;
using Tenants.Shared.Routing;

namespace Benchmarks;

/// <summary>
/// One side of <see cref="TenantScaleBenchmark"/>, in a process of its own: the real Api on Kestrel over the given
/// database, loaded by a .NET client with fixed concurrency, each request to a tenant drawn uniformly from the
/// trafficked set. Prints one <see cref="ResultPrefix"/> line of JSON for the parent.
/// </summary>
internal static class TenantScaleChild
{
    public const string ResultPrefix = "RESULT ";
    public const int Concurrency = 16;
    public const int WindowSeconds = 5;

    public static async Task<int> RunAsync(string app, string owner, string prefix, int trafficked, int stride, int seconds, int warmUpSeconds)
    {
        string[] tenants = [.. Enumerable.Range(0, trafficked).Select(i => $"{prefix}_{i * stride:D5}")];
        var models = new ConcurrentDictionary<IModel, byte>(ReferenceEqualityComparer.Instance);
        var served = new ConcurrentDictionary<string, byte>(StringComparer.Ordinal);

        await using var api = new ScaleApi(app, owner, models);
        api.UseKestrel(0);
        api.StartServer();
        using HttpClient client = api.CreateClient();
        client.BaseAddress = api.ClientOptions.BaseAddress;

        // Warm-up over the same tenants: throughput climbs for several seconds (tiered JIT, pools, PostgreSQL's caches).
        await LoadAsync(client, tenants, TimeSpan.FromSeconds(warmUpSeconds), latencies: null, served);

        using var sampling = new CancellationTokenSource();
        Task<int> sampler = MaxConnectionsAsync(owner, sampling.Token);
        using var catalogQueries = new CatalogQueryCounter();
        var latencies = new ConcurrentBag<(double At, double Ms)[]>();
        var clock = Stopwatch.StartNew();
        long requests = await LoadAsync(client, tenants, TimeSpan.FromSeconds(seconds), latencies, served);
        double rps = requests / clock.Elapsed.TotalSeconds;
        double catalogPerSecond = catalogQueries.OnRequests / clock.Elapsed.TotalSeconds;
        double refreshesPerSecond = catalogQueries.Refreshes / clock.Elapsed.TotalSeconds;
        await sampling.CancelAsync();
        int maxConnections = await sampler;

        (double p50, double p95, double[] windows) = Latency(latencies, seconds);
        int tenantsServed = served.Count;
        (int storeEntries, int registryEntries) = CacheEntries(api.Services);
        DedicatedPoolOptions pools = api.Services.GetRequiredService<IOptions<TenancyOptions>>().Value.DedicatedPools;
        IReadOnlyCollection<string> dedicated = api.Services.GetRequiredService<TenantDataSource>().Dedicated.Tenants;

        // The harness's own records go first: a sample per request would make the heap follow throughput, not the app.
        latencies.Clear();
        served.Clear();

        // Everything the run allocated and no longer holds goes, so what is left is what the configuration keeps.
        GC.Collect(GC.MaxGeneration, GCCollectionMode.Forced, blocking: true, compacting: true);
        GC.WaitForPendingFinalizers();
        GC.Collect(GC.MaxGeneration, GCCollectionMode.Forced, blocking: true, compacting: true);
        long heap = GC.GetTotalMemory(forceFullCollection: false);
        using Process self = Process.GetCurrentProcess();
        self.Refresh();

        var result = new ChildResult(
            P50Ms: p50,
            P95Ms: p95,
            WindowP50Ms: windows,
            CatalogQueriesPerSecond: catalogPerSecond,
            CatalogRefreshesPerSecond: refreshesPerSecond,
            RequestsPerSecond: rps,
            WorkingSetBytes: self.WorkingSet64,
            GcHeapBytes: heap,
            Models: models.Count,
            MaxConnections: maxConnections,
            MaxPoolSize: new NpgsqlConnectionStringBuilder(app).MaxPoolSize,
            DedicatedPoolBound: pools.Tenants * pools.PoolSize,
            DedicatedPoolTenants: dedicated.Count,
            OwnerMaxPoolSize: new NpgsqlConnectionStringBuilder(owner).MaxPoolSize,
            TenantsServed: tenantsServed,
            StoreCacheEntries: storeEntries,
            RegistryCacheEntries: registryEntries);
        Console.WriteLine(ResultPrefix + JsonSerializer.Serialize(result));
        return 0;
    }

    private static async Task<long> LoadAsync(HttpClient client, string[] tenants, TimeSpan duration, ConcurrentBag<(double At, double Ms)[]>? latencies, ConcurrentDictionary<string, byte> served)
    {
        long done = 0;
        var clock = Stopwatch.StartNew();
        await Task.WhenAll(Enumerable.Range(0, Concurrency).Select(async _ =>
        {
            var mine = new List<(double At, double Ms)>();
            while (clock.Elapsed < duration)
            {
                string tenant = tenants[Random.Shared.Next(tenants.Length)];
                long started = Stopwatch.GetTimestamp();
                using HttpResponseMessage response = await client.GetAsync($"/t/{tenant}/articles?pageSize=20");
                if (!response.IsSuccessStatusCode)
                {
                    throw new InvalidOperationException($"{tenant}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
                }

                await response.Content.CopyToAsync(Stream.Null);
                mine.Add((clock.Elapsed.TotalSeconds, Stopwatch.GetElapsedTime(started).TotalMilliseconds));
                served.TryAdd(tenant, 0);
                Interlocked.Increment(ref done);
            }

            latencies?.Add([.. mine]);
        }));
        return done;
    }

    /// <summary>
    /// Commands on the tenant catalog while the measured phase runs, counted from Npgsql's spans: the request path's
    /// cache misses (the store's and the registry's look-ups of one name), and apart from them the tenant store's
    /// background re-reads of the tenants in use (one query for many names).
    /// </summary>
    private sealed class CatalogQueryCounter : IDisposable
    {
        private readonly NpgsqlSpanListener _listener;
        private long _onRequests;
        private long _refreshes;

        public CatalogQueryCounter() => _listener = new NpgsqlSpanListener(span =>
        {
            if ((span.GetTagItem("db.query.text") ?? span.GetTagItem("db.statement")) is string sql && sql.Contains("\"tenants\"", StringComparison.Ordinal))
            {
                Interlocked.Increment(ref sql.Contains("= ANY(", StringComparison.Ordinal) ? ref _refreshes : ref _onRequests);
            }
        });

        public long OnRequests => Interlocked.Read(ref _onRequests);

        public long Refreshes => Interlocked.Read(ref _refreshes);

        public void Dispose() => _listener.Dispose();
    }

    /// <summary>The most sessions on the database at any sample, every 200 ms, from a connection outside every pool (not counted).</summary>
    private static async Task<int> MaxConnectionsAsync(string owner, CancellationToken stop)
    {
        await using var connection = new NpgsqlConnection(new NpgsqlConnectionStringBuilder(owner) { Pooling = false }.ConnectionString);
        await connection.OpenAsync(CancellationToken.None);
        await using var count = new NpgsqlCommand("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()", connection);
        int max = 0;
        while (!stop.IsCancellationRequested)
        {
            max = Math.Max(max, (int)(long)(await count.ExecuteScalarAsync(CancellationToken.None))!);
            try
            {
                await Task.Delay(200, stop);
            }
            catch (OperationCanceledException)
            {
                break;
            }
        }

        return max;
    }

    // The two per-name caches on the request path are private; read here by reflection, for the report only.
    private static (int Store, int Registry) CacheEntries(IServiceProvider services) => (
        Count(services.GetRequiredService<ITenantStore>(), typeof(CatalogTenantStore), "_found"),
        Count(services.GetRequiredService<TenantCatalog>(), typeof(TenantCatalog), "_known"));

    private static int Count(object instance, Type type, string field)
    {
        object cache = type.GetField(field, BindingFlags.Instance | BindingFlags.NonPublic)?.GetValue(instance)
            ?? throw new InvalidOperationException($"{type.Name}.{field} is gone: update the benchmark.");
        return (int)cache.GetType().GetProperty("Count")!.GetValue(cache)!;
    }

    // p50 per window of the measured phase too: still falling at its end means the warm-up was too short to reach
    // steady state.
    private static (double P50, double P95, double[] Windows) Latency(IEnumerable<(double At, double Ms)[]> latencies, int seconds)
    {
        (double At, double Ms)[] samples = [.. latencies.SelectMany(l => l)];
        double[] all = [.. samples.Select(s => s.Ms).Order()];
        double[] windows = [.. samples.GroupBy(s => (int)(s.At / WindowSeconds)).Where(g => g.Key < seconds / WindowSeconds).OrderBy(g => g.Key)
            .Select(g => Percentile([.. g.Select(s => s.Ms).Order()], 0.50))];
        return (Percentile(all, 0.50), Percentile(all, 0.95), windows);
    }

    private static double Percentile(double[] sorted, double p) =>
        sorted[Math.Clamp((int)Math.Ceiling(p * sorted.Length) - 1, 0, sorted.Length - 1)];

    /// <summary>The real Api over the side's database, recording every EF model its requests' DbContexts used.</summary>
    private sealed class ScaleApi(string app, string owner, ConcurrentDictionary<IModel, byte> models) : WebApplicationFactory<TenantResolutionMiddleware> // any Api type: its assembly's entry point runs
    {
        protected override void ConfigureWebHost(IWebHostBuilder builder)
        {
            builder.UseContentRoot(BenchTenant.ApiDirectory()); // its appsettings.json: tenant roles on, as shipped
            builder.UseEnvironment("Production");
            builder.UseSetting($"ConnectionStrings:{AppDataExtensions.DatabaseName}", app);
            builder.UseSetting($"ConnectionStrings:{AppDataExtensions.OwnerConnectionName}", owner);
            builder.UseSetting("Tenancy:Resolution:RequireAuthenticatedMember", "false");
            builder.UseSetting("Logging:LogLevel:Default", "Warning");

            // Flatness, not fairness: the small side's ten tenants share the whole load, far past a plan's rate.
            BenchTenant.LiftPlanLimits(builder);
            builder.ConfigureTestServices(services => services.AddSingleton<IStartupFilter>(new ModelRecorder(models)));
        }
    }

    /// <summary>After each request, the model of the DbContext its scope used (the same scoped instance).</summary>
    private sealed class ModelRecorder(ConcurrentDictionary<IModel, byte> models) : IStartupFilter
    {
        public Action<IApplicationBuilder> Configure(Action<IApplicationBuilder> next) => app =>
        {
            app.Use(async (context, nextMiddleware) =>
            {
                await nextMiddleware(context);
                models.TryAdd(context.RequestServices.GetRequiredService<AppDbContext>().Model, 0);
            });
            next(app);
        };
    }
}

/// <summary>What one child measured; the parent prints the sides side by side.</summary>
internal sealed record ChildResult(
    double P50Ms,
    double P95Ms,
    double[] WindowP50Ms,
    double CatalogQueriesPerSecond,
    double CatalogRefreshesPerSecond,
    double RequestsPerSecond,
    long WorkingSetBytes,
    long GcHeapBytes,
    int Models,
    int MaxConnections,
    int MaxPoolSize,
    int DedicatedPoolBound,
    int DedicatedPoolTenants,
    int OwnerMaxPoolSize,
    int TenantsServed,
    int StoreCacheEntries,
    int RegistryCacheEntries);
