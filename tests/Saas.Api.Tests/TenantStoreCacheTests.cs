using System.Collections.Concurrent;
using System.Diagnostics;
using Microsoft.Extensions.Options;
using Npgsql;
using Saas.Api.Tenancy;
using Tenants.Shared;
using Tenants.Shared.Catalog;

namespace Saas.Api.Tests;

/// <summary>
/// The tenant store's cache over the real catalog (issue: performance, P4): a tenant in use is re-read in the
/// background before its entry expires, so that with traffic spread over many tenants no request waits on the catalog
/// for one it served a moment ago, and a change made by another process is still seen within the cache duration.
/// </summary>
public sealed class TenantStoreCacheTests(PostgresFixture postgres) : ApiTest(postgres)
{
    private static readonly TimeSpan CacheDuration = TimeSpan.FromSeconds(3);

    private static readonly ActivitySource Probe = new("Saas.Api.Tests.TenantStoreCache");

    protected override IEnumerable<KeyValuePair<string, string?>> Settings =>
        [new("Tenancy:RegistryCacheDuration", CacheDuration.ToString("c", System.Globalization.CultureInfo.InvariantCulture))];

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

        // Two and a half cache durations of steady use: without the refresh ahead, each tenant's look-ups would wait
        // on the catalog three times.
        var clock = Stopwatch.StartNew();
        int looks = 0;
        while (clock.Elapsed < CacheDuration * 2.5)
        {
            string tenant = tenants[looks % tenants.Length];
            Activity.Current = null;
            using (Activity probe = Probe.StartActivity("lookup")!)
            {
                lookups[probe.TraceId] = true;
                TenantRecord? record = await store.FindAsync(tenant, Cancellation);
                Assert.True(record is { IsServed: true }, $"look-up {looks} ({tenant}) at {clock.Elapsed.TotalSeconds:F2} s did not serve the tenant");
            }

            looks++;
            await Task.Delay(30, Cancellation);
        }

        Assert.True(looks > 60, $"only {looks} look-ups ran");
        Assert.Equal(tenants.Length, Volatile.Read(ref onRequestPath));
    }

    [Fact]
    public async Task A_tenant_deactivated_by_another_process_stops_being_served_when_its_entry_is_refreshed()
    {
        await Api.ProvisionAsync("fading");
        ITenantStore store = Api.Service<ITenantStore>();
        store.Forget("fading");
        Assert.True(await store.FindAsync("fading", Cancellation) is { IsServed: true });
        var clock = Stopwatch.StartNew();

        // Another Api instance deactivates it: this process is not told, its cache entry still says active.
        await Task.Delay(CacheDuration * 0.6, Cancellation);
        await using (var connection = new NpgsqlConnection(Api.ConnectionString))
        {
            await connection.OpenAsync(Cancellation);
            string catalog = $"{PgIdentifier.Quote(Api.Service<IOptions<TenancyOptions>>().Value.SharedSchema)}.tenants";
            await using var command = new NpgsqlCommand($"UPDATE {catalog} SET status = 'deactivated' WHERE name = 'fading'", connection);
            Assert.Equal(1, await command.ExecuteNonQueryAsync(Cancellation));
        }

        // The first look-up past half the entry's life is still served from the cache, and has it re-read.
        Assert.True(await store.FindAsync("fading", Cancellation) is { IsServed: true });
        while (await store.FindAsync("fading", Cancellation) is { IsServed: true })
        {
            Assert.True(clock.Elapsed < CacheDuration * 0.95, "the tenant was still served near its entry's expiry: the entry was not refreshed");
            await Task.Delay(20, Cancellation);
        }

        Assert.Equal(TenantStatus.Deactivated, (await store.FindAsync("fading", Cancellation))?.Status);
    }
}
