using Postgres.Testing;
using Saas.Api.Apis;

namespace Benchmarks;

/// <summary>
/// P1 and P1b at the HTTP level: the Api's list endpoint, in one process on real Kestrel, loaded over loopback by a
/// .NET client. Every side runs the same handler (<see cref="ArticlesApi.ListAsync"/>) over the same data:
/// <list type="bullet">
/// <item>off: no tenancy at all (no resolution, a plain pool whose startup search_path is the tenant's schema), the
/// context registered as the shipped one is (options built once): the baseline;</item>
/// <item>off with options built per context (AddDbContext's default) and off with pooled contexts (AddDbContextPool):
/// what other registrations of the same context cost, for reference;</item>
/// <item>off as the tenant's role: the same, logged in as the tenant's role, not the superuser: privilege checks only;</item>
/// <item>resolved, off's pool: tenant resolution and scope as shipped, but off's pool: the pipeline's share of the cost;</item>
/// <item>shipped: the app's own DbContext (the tenant's dedicated pool once it is busy enough, else the main pool);</item>
/// <item>the main pool alone (SET batched with the first query, once per context), with and without the tenant
/// role, and as routed before, on every query;</item>
/// <item>SET on open, and per-tenant data source: the other routing mechanisms (RoutingMechanisms), behind the same resolution;</item>
/// <item>the Api's own /t/bench/articles, through its whole middleware pipeline (exception handler, status pages,
/// its full route table): the other sides share one small pipeline shape, so that only tenancy differs.</item>
/// </list>
/// </summary>
internal static class HttpBenchmark
{
    /// <summary>The baseline of every HTTP comparison: the same endpoint with no tenancy.</summary>
    public static readonly (string Name, string Path) Off = ("off (no tenancy)", $"/off/t/{BenchTenant.Name}/articles");

    /// <summary>The shipped context on the same small pipeline and route shape as <see cref="Off"/>.</summary>
    public static readonly (string Name, string Path) Shipped = ("shipped: the tenant's dedicated pool", $"/m/{RoutingMechanisms.Shipped}/t/{BenchTenant.Name}/articles");

    /// <summary>The same endpoint with no tenancy and pooled contexts: what Aspire's AddNpgsqlDbContext registers.</summary>
    private static readonly (string Name, string Path) OffPooled = ("off, pooled contexts", $"/off/t/{BenchTenant.Name}/articles-pooled");

    /// <summary>The path of a tenant without a dedicated pool.</summary>
    private static readonly (string Name, string Path) SharedPool = ("main pool: SET batched, once per context", $"/m/{RoutingMechanisms.SharedPoolOnly}/t/{BenchTenant.Name}/articles");

    /// <summary>The query every side's request carries: one page of the list.</summary>
    public const string Page = "?pageSize=20";

    public static Task RunAsync(int seconds, int concurrency, int rounds) => RunSidesAsync(
        [
            Off,
            ("off, options per context (EF's default)", $"/off/t/{BenchTenant.Name}/articles-options-per-context"),
            OffPooled,
            ("off, as the tenant's role (no tenancy)", $"/off/t/{BenchTenant.Name}/articles-as-tenant-role"),
            ("resolved, off's pool (no routing SQL)", $"/m/{RoutingMechanisms.Off}/t/{BenchTenant.Name}/articles"),
            Shipped,
            SharedPool,
            ("main pool: SET batched, every query (before)", $"/m/{RoutingMechanisms.SharedPoolPerQuery}/t/{BenchTenant.Name}/articles"),
            ("main pool without the tenant role", $"/m/{RoutingMechanisms.BatchedWithoutRole}/t/{BenchTenant.Name}/articles"),
            ("SET on open", $"/m/{RoutingMechanisms.SetOnOpen}/t/{BenchTenant.Name}/articles"),
            ("per-tenant data source, unbounded", $"/m/{RoutingMechanisms.PerTenantSource}/t/{BenchTenant.Name}/articles"),
            ("shipped, the Api's own endpoint and pipeline", $"/t/{BenchTenant.Name}/articles"),
        ],
        seconds,
        concurrency,
        rounds,
        warmUp: TimeSpan.FromSeconds(6));

    /// <summary>
    /// P1 itself, with less noise than <see cref="RunAsync"/>: off, off with pooled contexts (what a team without this
    /// template registers), the shipped context on the same small pipeline and route shape, and the main pool (the
    /// path of a tenant without a dedicated pool), in short slices and many rounds; the two routed sides are also
    /// compared with off's pooled contexts round by round. A round's ratio of two 1 s slices varies by about 7% here,
    /// independently of its neighbours (no drift to speak of), so precision comes from the number of rounds: the
    /// interval of the median narrows with its square root. Each side is an app of its own (<see cref="SideServer"/>),
    /// as each would be deployed; off's pooled contexts run twice, in two processes, and their ratio is what two
    /// identical apps read in one run: the floor under any difference. Two runs of the same processes' code differ by
    /// about 2% (their JIT's choices, their thread pools), more than one run's rounds can show: the rounds are shared
    /// among generations of fresh processes, and the intervals hold the spread between generations too.
    /// </summary>
    public static Task RunP1Async(int seconds, int concurrency, int rounds, int generations) => RunSidesApartAsync(
        [Off, OffPooled, Shipped, SharedPool, (OffPooled.Name + ", again", OffPooled.Path)],
        seconds,
        concurrency,
        rounds,
        generations,
        warmUp: TimeSpan.FromSeconds(20), // per side and generation: the JIT's tiers settle in fresh processes
        pairs: [(2, 1), (3, 1), (4, 1)]);

    /// <summary>
    /// Where the shipped path's cost over off's pooled contexts is, in one run, with the database in play: off's pooled
    /// contexts with an unread AsyncLocal set, then inside a tenant scope, then behind tenant resolution, then the
    /// shipped context (what routing adds). Each side is compared round by round with the one before it and with off, pooled.
    /// </summary>
    public static Task RunP1PartsAsync(int seconds, int concurrency, int rounds) => RunSidesAsync(
        [
            OffPooled,
            ("off, pooled, an AsyncLocal set", $"/off/t/{BenchTenant.Name}/articles-pooled-with-async-local"),
            ("off, pooled, in a tenant scope", $"/off/t/{BenchTenant.Name}/articles-pooled-in-scope"),
            ("resolved, off's pooled contexts", $"/m/{RoutingMechanisms.Off}/t/{BenchTenant.Name}/articles-pooled"),
            Shipped,
        ],
        seconds,
        concurrency,
        rounds,
        warmUp: TimeSpan.FromSeconds(10),
        pairs: [(1, 0), (2, 0), (3, 0), (4, 0), (2, 1), (3, 2), (4, 3)]);

    /// <summary>
    /// Resolution's share of the shipped path, apart from its scope: the shipped context behind a middleware that only
    /// enters the tenant's scope, then behind the resolution middleware, then the first side again, the same path. The
    /// two runs of one path show what a ratio of identical sides reads in one run: the floor under any difference.
    /// </summary>
    public static Task RunResolutionAsync(int seconds, int concurrency, int rounds) => RunSidesAsync(
        [
            ("scope entered, no resolution", $"/entered/t/{BenchTenant.Name}/articles"),
            Shipped,
            ("scope entered, no resolution, again", $"/entered/t/{BenchTenant.Name}/articles"),
        ],
        seconds,
        concurrency,
        rounds,
        warmUp: TimeSpan.FromSeconds(10),
        pairs: [(1, 0), (1, 2), (2, 0)]);

    /// <summary>
    /// The pipeline's own cost, apart from any SQL: an endpoint that touches no database, without and with tenant
    /// resolution (strategies, store, authorization, scope). The difference of their CPU per request is the pipeline's
    /// cost per request.
    /// </summary>
    public static Task RunPipelineAsync(int seconds, int concurrency, int rounds) => RunSidesAsync(
        [
            ("no database, no tenancy", $"/off/t/{BenchTenant.Name}/ping"),
            ("no database, tenant resolved", $"/m/{RoutingMechanisms.Off}/t/{BenchTenant.Name}/ping"),
        ],
        seconds,
        concurrency,
        rounds,
        warmUp: TimeSpan.FromSeconds(6));

    /// <summary>The Api on Kestrel over a fresh database, and a GET of each side's path, side by side.</summary>
    private static async Task RunSidesAsync((string Name, string Path)[] sides, int seconds, int concurrency, int rounds, TimeSpan warmUp, (int Side, int To)[]? pairs = null)
    {
        await using PostgresCluster cluster = await PostgresCluster.StartAsync();
        await using BenchApi api = await StartApiAsync(cluster);
        using HttpClient client = Client(api);

        Console.WriteLine($"{Environment.ProcessorCount} cores; Kestrel on {client.BaseAddress}; {concurrency} concurrent clients; {rounds} rounds x {seconds} s per side");
        await SideBySide.RunAsync([.. sides.Select(side => (side.Name, Get(client, side.Path)))], concurrency, TimeSpan.FromSeconds(seconds), rounds, warmUp, pairs);
        BenchTenant.PrintDedicatedPools(api.Services);
    }

    /// <summary>
    /// The sides as apps: each side's path served by a process of its own over one fresh database, loaded from this
    /// process, in <paramref name="generations"/> generations of fresh processes that share the rounds. CPU time,
    /// allocations and round trips are the serving processes' own; the load's client is not in them.
    /// </summary>
    private static async Task RunSidesApartAsync((string Name, string Path)[] sides, int seconds, int concurrency, int rounds, int generations, TimeSpan warmUp, (int Side, int To)[] pairs)
    {
        await using PostgresCluster cluster = await PostgresCluster.StartAsync();
        string database = await cluster.CreateDatabaseAsync();
        await using (var seeding = new BenchApi(database))
        {
            await BenchTenant.SeedAsync(seeding.Services, database);
        }

        Console.WriteLine($"{Environment.ProcessorCount} cores; a process per side, on Kestrel, fresh in each of {generations} generations; {concurrency} concurrent clients; {rounds} rounds x {seconds} s per side");
        var measured = new List<SideBySide.Measurement>();
        for (int generation = 0; generation < generations; generation++)
        {
            // The rounds as evenly shared as they divide; the first generations take what is left over.
            int share = (rounds / generations) + (generation < rounds % generations ? 1 : 0);
            measured.Add(await MeasureApartAsync(sides, seconds, concurrency, share, warmUp, database, generation + 1));
        }

        SideBySide.Report([.. sides.Select(side => side.Name)], measured, pairs);
    }

    /// <summary>One generation: a fresh server per side, measured, then stopped.</summary>
    private static async Task<SideBySide.Measurement> MeasureApartAsync((string Name, string Path)[] sides, int seconds, int concurrency, int rounds, TimeSpan warmUp, string database, int generation)
    {
        var servers = new List<SideServer>();
        try
        {
            foreach ((string Name, string Path) _ in sides)
            {
                servers.Add(await SideServer.StartAsync(database));
            }

            SideBySide.Measurement measured = await SideBySide.MeasureAsync(
                [.. sides.Select((side, i) => (side.Name, Get(servers[i].Client, side.Path)))],
                concurrency,
                TimeSpan.FromSeconds(seconds),
                rounds,
                warmUp,
                [.. servers.Select(server => (Func<Task<SideBySide.Usage>>)server.UsageAsync)]);
            for (int i = 0; i < sides.Length; i++)
            {
                await servers[i].StopAsync($"{sides[i].Name} (generation {generation})");
            }

            return measured;
        }
        finally
        {
            foreach (SideServer server in servers)
            {
                await server.DisposeAsync();
            }
        }
    }

    /// <summary>The Api with the benchmark branches on real Kestrel over a fresh database, tenant `bench` seeded.</summary>
    public static async Task<BenchApi> StartApiAsync(PostgresCluster cluster)
    {
        string database = await cluster.CreateDatabaseAsync();
        var api = new BenchApi(database);
        api.UseKestrel(0);
        api.StartServer();
        await BenchTenant.SeedAsync(api.Services, database);
        return api;
    }

    public static HttpClient Client(BenchApi api)
    {
        HttpClient client = api.CreateClient();
        client.BaseAddress = api.ClientOptions.BaseAddress;
        return client;
    }

    private static Func<Task> Get(HttpClient client, string path) => async () =>
    {
        using HttpResponseMessage response = await client.GetAsync(path + Page);
        if (!response.IsSuccessStatusCode)
        {
            throw new InvalidOperationException($"{path}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
        }

        await response.Content.CopyToAsync(Stream.Null);
    };
}
