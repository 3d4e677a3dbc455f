using System.Collections.Concurrent;
using System.Diagnostics.Tracing;
using System.Globalization;
using Postgres.Testing;

namespace Benchmarks;

/// <summary>
/// Attribution, not a claim: which types two endpoints of the benchmark Api allocate per request, and the difference.
/// Each path is loaded alone (16 concurrent clients) while the runtime's allocation ticks (one per ~100 KB allocated,
/// with the type of the object that crossed it) are summed by type, so a type's share of the ticks estimates its bytes.
/// The process holds the client too; what both paths share cancels out in the difference.
/// </summary>
internal static class AllocationBreakdown
{
    public static async Task RunAsync(int seconds, string baseline, string compared)
    {
        await using PostgresCluster cluster = await PostgresCluster.StartAsync();
        await using BenchApi api = await HttpBenchmark.StartApiAsync(cluster);
        using HttpClient client = HttpBenchmark.Client(api);

        // Warm both up, and let the shipped side's tenant earn its dedicated pool (one 10 s window).
        await LoadAsync(client, baseline, TimeSpan.FromSeconds(seconds));
        await LoadAsync(client, compared, TimeSpan.FromSeconds(Math.Max(seconds, 11)));

        using var ticks = new AllocationTicks();
        (double Total, Dictionary<string, double> ByType) a = await MeasureAsync(client, baseline, seconds, ticks);
        (double Total, Dictionary<string, double> ByType) b = await MeasureAsync(client, compared, seconds, ticks);

        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{baseline}: {a.Total:F2} KB/request"));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{compared}: {b.Total:F2} KB/request ({b.Total - a.Total:+0.00;-0.00} KB)"));
        Console.WriteLine("KB/request by type, compared minus baseline (largest differences either way):");
        var differences = a.ByType.Keys.Union(b.ByType.Keys)
            .Select(type => (Type: type, Difference: b.ByType.GetValueOrDefault(type) - a.ByType.GetValueOrDefault(type)))
            .OrderByDescending(d => Math.Abs(d.Difference))
            .Take(30);
        foreach ((string type, double difference) in differences)
        {
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  {difference,8:+0.000;-0.000}  {type}"));
        }
    }

    private static async Task<(double Total, Dictionary<string, double> ByType)> MeasureAsync(HttpClient client, string path, int seconds, AllocationTicks ticks)
    {
        await Task.Delay(TimeSpan.FromSeconds(2)); // the listener's events arrive late: let the previous path's drain
        ticks.Clear();
        long before = GC.GetTotalAllocatedBytes(precise: true);
        long requests = await LoadAsync(client, path, TimeSpan.FromSeconds(seconds));
        long after = GC.GetTotalAllocatedBytes(precise: true);
        await Task.Delay(TimeSpan.FromSeconds(2));
        return ((after - before) / 1024.0 / requests, ticks.Snapshot().ToDictionary(t => t.Key, t => t.Value / 1024.0 / requests));
    }

    private static async Task<long> LoadAsync(HttpClient client, string path, TimeSpan duration)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        long done = 0;
        await Task.WhenAll(Enumerable.Range(0, 16).Select(async _ =>
        {
            while (clock.Elapsed < duration)
            {
                using HttpResponseMessage response = await client.GetAsync(path);
                response.EnsureSuccessStatusCode();
                await response.Content.CopyToAsync(Stream.Null);
                Interlocked.Increment(ref done);
            }
        }));
        return done;
    }

    /// <summary>The runtime's GCAllocationTick events, bytes summed by type name.</summary>
    private sealed class AllocationTicks : EventListener
    {
        private const EventKeywords GarbageCollection = (EventKeywords)0x1;

        private readonly ConcurrentDictionary<string, long> _bytes = new(StringComparer.Ordinal);

        public void Clear() => _bytes.Clear();

        public KeyValuePair<string, long>[] Snapshot() => _bytes.ToArray();

        protected override void OnEventSourceCreated(EventSource source)
        {
            if (source.Name == "Microsoft-Windows-DotNETRuntime")
            {
                EnableEvents(source, EventLevel.Verbose, GarbageCollection);
            }
        }

        protected override void OnEventWritten(EventWrittenEventArgs e)
        {
            if (e.EventName?.StartsWith("GCAllocationTick", StringComparison.Ordinal) != true || e.Payload is not { } payload || e.PayloadNames is not { } names)
            {
                return;
            }

            string type = payload[names.IndexOf("TypeName")] as string ?? "?";
            long bytes = Convert.ToInt64(payload[names.IndexOf("AllocationAmount64")], CultureInfo.InvariantCulture);
            _bytes.AddOrUpdate(type, bytes, (_, sum) => sum + bytes);
        }
    }
}
