using System.Collections.Concurrent;
using System.Diagnostics;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Testing;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using Npgsql;
using Saas.Api.Tenancy;
using Tenants.Shared;
using Tenants.Shared.Catalog;

namespace Saas.Api.Tests;

/// <summary>
/// The tenant store's cache over the real catalog: a tenant in use is re-read in the background before its entry
/// expires, so that no request waits on the catalog for a tenant it served a moment ago, and a change made by another
/// process whose announcement this one missed is still seen within the cache duration. The cache's clock is a fake one the test moves, so these hold
/// however fast the machine is; the background re-read is awaited through its own log record.
/// </summary>
public sealed class TenantStoreCacheTests(PostgresFixture postgres) : ApiTest(postgres)
{
    private static readonly TimeSpan CacheDuration = TimeSpan.FromSeconds(30);

    // Refreshes claimed within a sixteenth of the duration share one catalog query (CatalogTenantStore).
    private static readonly TimeSpan Gather = CacheDuration / 16;

    private static readonly ActivitySource Probe = new("Saas.Api.Tests.TenantStoreCache");

    private readonly FakeTimeProvider _clock = new(DateTimeOffset.UtcNow); // tokens are checked against it too

    protected override IEnumerable<KeyValuePair<string, string?>> Settings =>
    [
        new("Tenancy:RegistryCacheDuration", CacheDuration.ToString("c", System.Globalization.CultureInfo.InvariantCulture)),
        new($"Logging:LogLevel:{typeof(CatalogTenantStore).FullName}", "Debug"),
    ];

    protected override void ConfigureServices(IServiceCollection services) =>
        services.AddSingleton<TimeProvider>(_clock).AddFakeLogging();

    [Fact]
    public async Task Tenants_in_use_are_read_from_the_catalog_on_their_first_request_only()
    {
        string[] tenants = ["busy", "busier", "busiest"];
        await Api.ProvisionAsync(tenants);
        ITenantStore store = Api.Service<ITenantStore>();
        foreach (string tenant in tenants)
        {
            store.Forget(tenant); // provisioning's own look-ups are not this test's
        }

        // Catalog round trips on the look-ups' own flow: each look-up runs under a probe span of a trace of its own.
        var lookups = new ConcurrentDictionary<ActivityTraceId, bool>();
        int onRequestPath = 0;
        using var listener = new ActivityListener
        {
            ShouldListenTo = s => s.Name is "Npgsql" || s == Probe,
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllData,
            ActivityStopped = a =>
            {
                if (a.Source.Name == "Npgsql" && lookups.ContainsKey(a.TraceId))
                {
                    Interlocked.Increment(ref onRequestPath);
                }
            },
        };
        ActivitySource.AddActivityListener(listener);

        // Three cache durations of steady use: without the refresh ahead, each tenant's look-ups would wait on the
        // catalog once per duration. Each step looks every tenant up, then moves the clock a fifth of the duration on.
        TimeSpan step = CacheDuration / 5, now = TimeSpan.Zero, cachedAt = TimeSpan.Zero;
        int refreshes = 0;
        for (int i = 0; i < 15; i++)
        {
            foreach (string tenant in tenants)
            {
                Activity.Current = null;
                using Activity probe = Probe.StartActivity("lookup")!;
                lookups[probe.TraceId] = true;
                TenantRecord? record = await store.FindAsync(tenant, Cancellation);
                Assert.True(record is { IsServed: true }, $"at {now}: {tenant} was not served");
            }

            Assert.True(Volatile.Read(ref onRequestPath) == tenants.Length, $"at {now}: a look-up waited on the catalog for a tenant in use");

            // Past half their life the entries were due: the look-ups above claimed a refresh, and moving the clock
            // past the gathering window runs it. It must land before the clock reaches the old entries' expiry.
            bool due = now - cachedAt >= CacheDuration / 2;
            _clock.Advance(step);
            now += step;
            if (due)
            {
                await WaitForRefreshAsync(++refreshes);
                cachedAt = now;
            }
        }

        Assert.Equal(3, refreshes);
    }

    [Fact]
    public async Task A_tenant_deactivated_by_another_process_stops_being_served_when_its_entry_is_refreshed()
    {
        await Api.ProvisionAsync("fading");
        ITenantStore store = Api.Service<ITenantStore>();
        store.Forget("fading");
        Assert.True(await store.FindAsync("fading", Cancellation) is { IsServed: true });

        // Another Api instance deactivates it, and this process misses the announcement (replica mode runs no trigger):
        // its cache entry still says active.
        await using (var connection = new NpgsqlConnection(Api.ConnectionString))
        {
            await connection.OpenAsync(Cancellation);
            string catalog = $"{PgIdentifier.Quote(Api.Service<IOptions<TenancyOptions>>().Value.SharedSchema)}.tenants";
            await using var command = new NpgsqlCommand($"SET session_replication_role = replica; UPDATE {catalog} SET status = 'deactivated' WHERE name = 'fading'", connection);
            Assert.Equal(1, await command.ExecuteNonQueryAsync(Cancellation));
        }

        // Before half the entry's life, the cache serves it and claims nothing.
        _clock.Advance(CacheDuration * 0.4);
        Assert.True(await store.FindAsync("fading", Cancellation) is { IsServed: true });
        _clock.Advance(Gather);
        Assert.Equal(0, Refreshes());

        // The first look-up past half its life is still served from the cache, and has it re-read.
        _clock.Advance(CacheDuration * 0.2);
        Assert.True(await store.FindAsync("fading", Cancellation) is { IsServed: true });
        _clock.Advance(Gather);
        await WaitForRefreshAsync(1);

        // Well before the entry would have expired, the tenant is no longer served.
        TenantRecord? after = await store.FindAsync("fading", Cancellation);
        Assert.Equal((TenantStatus.Deactivated, false), (after?.Status, after?.IsServed));
    }

    private int Refreshes() =>
        Api.Services.GetFakeLogCollector().GetSnapshot().Count(r => r.Id.Name == "TenantsRefreshed" && r.Level == LogLevel.Debug);

    private Task WaitForRefreshAsync(int count) =>
        Eventually.UntilAsync(() => Refreshes() >= count, $"background refresh {count} of the tenant store", Cancellation);
}
