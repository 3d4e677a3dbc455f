using System.Diagnostics;
using System.Globalization;

namespace Benchmarks;

/// <summary>
/// Runs operations side by side in one process: concurrent loops per side, rounds that rotate which side goes first,
/// and each side's ratio to the baseline (the first side) taken per round, then the median of those ratios. On a
/// noisy machine whose throughput drifts (tiered JIT, caches, other load) a ratio within one round is steadier than a
/// ratio of medians; optional pairs of sides are compared with each other the same way. Round trips are counted as
/// Npgsql command spans per operation.
/// </summary>
internal static class SideBySide
{
    /// <returns>Each side's median throughput (operations per second).</returns>
    public static async Task<IReadOnlyList<double>> RunAsync(IReadOnlyList<(string Name, Func<Task> Operation)> sides, int concurrency, TimeSpan perSide, int rounds, TimeSpan warmUp,
        IReadOnlyList<(int Side, int To)>? pairs = null)
    {
        foreach ((_, Func<Task> operation) in sides)
        {
            await LoadAsync(operation, concurrency, warmUp);
        }

        var throughput = sides.Select(_ => new List<double>()).ToArray();
        var ratios = sides.Select(_ => new List<double>()).ToArray();
        for (int round = 0; round < rounds; round++)
        {
            var thisRound = new double[sides.Count];
            for (int k = 0; k < sides.Count; k++)
            {
                int side = (round + k) % sides.Count;
                thisRound[side] = await LoadAsync(sides[side].Operation, concurrency, perSide);
                throughput[side].Add(thisRound[side]);
            }

            for (int side = 0; side < sides.Count; side++)
            {
                ratios[side].Add(thisRound[side] / thisRound[0]);
            }
        }

        var trips = new double[sides.Count];
        for (int side = 0; side < sides.Count; side++)
        {
            trips[side] = await RoundTripsAsync(sides[side].Operation);
        }

        Console.WriteLine();
        Console.WriteLine($"{"side",-40} {"ops/s (median)",15} {"x " + sides[0].Name + " (median of rounds)",28} {"round trips/op",15}");
        for (int side = 0; side < sides.Count; side++)
        {
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{sides[side].Name,-40} {Median(throughput[side]),15:F0} {Median(ratios[side]),28:F3} {trips[side],15:F2}"));
        }

        Console.WriteLine("per-round ratios:");
        for (int side = 1; side < sides.Count; side++)
        {
            Console.WriteLine($"  {sides[side].Name}: {string.Join(", ", ratios[side].Select(r => r.ToString("F3", CultureInfo.InvariantCulture)))}");
        }

        foreach ((int of, int to) in pairs ?? [])
        {
            List<double> pair = [.. throughput[of].Zip(throughput[to], (a, b) => a / b)];
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{sides[of].Name} x {sides[to].Name}: {Median(pair):F3} (median of rounds: {string.Join(", ", pair.Select(r => r.ToString("F3", CultureInfo.InvariantCulture)))})"));
        }

        return [.. throughput.Select(Median)];
    }

    private static async Task<double> LoadAsync(Func<Task> operation, int concurrency, TimeSpan duration)
    {
        long done = 0;
        var clock = Stopwatch.StartNew();
        await Task.WhenAll(Enumerable.Range(0, concurrency).Select(async _ =>
        {
            while (clock.Elapsed < duration)
            {
                await operation();
                Interlocked.Increment(ref done);
            }
        }));
        return done / clock.Elapsed.TotalSeconds;
    }

    private static async Task<double> RoundTripsAsync(Func<Task> operation)
    {
        const int Operations = 200;
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
        for (int i = 0; i < Operations; i++)
        {
            await operation();
        }

        return (double)Interlocked.Read(ref commands) / Operations;
    }

    private static double Median(List<double> values)
    {
        double[] sorted = [.. values.Order()];
        return sorted.Length % 2 == 1 ? sorted[sorted.Length / 2] : (sorted[(sorted.Length / 2) - 1] + sorted[sorted.Length / 2]) / 2;
    }
}
