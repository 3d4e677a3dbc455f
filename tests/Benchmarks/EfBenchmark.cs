using Microsoft.Extensions.DependencyInjection;
using Postgres.Testing;
using Saas.Api.Apis;
using Saas.Data;
using Tenants.Shared;

namespace Benchmarks;

/// <summary>
/// P1b at the EF level: the list endpoint's handler called directly (a DI scope, a DbContext, a count and a page of
/// 20), no HTTP, once per routing mechanism (RoutingMechanisms), side by side with no tenancy at all. The last three
/// sides split what the shipped path adds to off's pooled contexts: EF Core's interception alone (an interceptor that
/// does nothing, of every kind, then of connections only), and the ambient tenant alone (off's pooled contexts inside
/// a tenant scope).
/// </summary>
internal static class EfBenchmark
{
    public static async Task RunAsync(int seconds, int concurrency, int rounds)
    {
        await using PostgresCluster cluster = await PostgresCluster.StartAsync();
        string database = await cluster.CreateDatabaseAsync();
        await using var api = new BenchApi(database);
        IServiceProvider services = api.Services;
        await BenchTenant.SeedAsync(services, database);

        Console.WriteLine($"{Environment.ProcessorCount} cores; EF Core, no HTTP; {concurrency} concurrent loops; {rounds} rounds x {seconds} s per side");
        await SideBySide.RunAsync(
            [
                ("off (no tenancy)", List(services, RoutingMechanisms.Off, scoped: false)),
                ("off, options per context (EF's default)", List(services, RoutingMechanisms.OffOptionsPerContext, scoped: false)),
                ("off, pooled contexts", List(services, RoutingMechanisms.OffPooled, scoped: false)),
                ("off, as the tenant's role (no tenancy)", List(services, RoutingMechanisms.OffAsTenantRole, scoped: false)),
                ("shipped: the tenant's dedicated pool", List(services, mechanism: null, scoped: true)),
                ("main pool: SET batched, once per context", List(services, RoutingMechanisms.SharedPoolOnly, scoped: true)),
                ("main pool: SET batched, every query (before)", List(services, RoutingMechanisms.SharedPoolPerQuery, scoped: true)),
                ("main pool without the tenant role", List(services, RoutingMechanisms.BatchedWithoutRole, scoped: true)),
                ("SET on open", List(services, RoutingMechanisms.SetOnOpen, scoped: true)),
                ("per-tenant data source, unbounded", List(services, RoutingMechanisms.PerTenantSource, scoped: true)),
                ("off, pooled, a no-op interceptor", List(services, RoutingMechanisms.OffPooledIntercepted, scoped: false)),
                ("off, pooled, a no-op conn. interceptor", List(services, RoutingMechanisms.OffPooledConnectionIntercepted, scoped: false)),
                ("off, pooled, in a tenant scope", List(services, RoutingMechanisms.OffPooled, scoped: true)),
            ],
            concurrency,
            TimeSpan.FromSeconds(seconds),
            rounds,
            warmUp: TimeSpan.FromSeconds(5),
            pairs: [(4, 2), (10, 2), (11, 2), (12, 2)]); // each against off's pooled contexts: the shipped path, then its parts
        BenchTenant.PrintDedicatedPools(services);
    }

    private static Func<Task> List(IServiceProvider root, string? mechanism, bool scoped)
    {
        TenantContext tenants = root.GetRequiredService<TenantContext>();
        return async () =>
        {
            await using TenantScope? tenant = scoped ? await tenants.EnterAsync(BenchTenant.Name) : null;
            await using AsyncServiceScope services = root.CreateAsyncScope();
            AppDbContext db = mechanism is null
                ? services.ServiceProvider.GetRequiredService<AppDbContext>()
                : services.ServiceProvider.GetRequiredKeyedService<AppDbContext>(mechanism);
            await ArticlesApi.ListAsync(db, CancellationToken.None, page: 1, pageSize: 20);
        };
    }
}
