using System.Diagnostics;
using System.Globalization;

namespace Benchmarks;

/// <summary>
/// Runs operations side by side from this process: concurrent loops per side, rounds in orders balanced for carry-over
/// (<see cref="BalancedOrders"/>), and each side's ratio to the baseline (the first side) taken per round, then the
/// median of those ratios. On a noisy machine whose throughput drifts (tiered JIT, caches, other load) a ratio within
/// one round is steadier than a ratio of medians; optional pairs of sides are compared with each other the same way.
/// Round trips are counted as Npgsql command spans per operation. Bytes allocated per operation in the serving process
/// (this one, or a side's own) attribute a side's own work with far less noise than throughput, since they do not
/// depend on what the database or the other core did meanwhile; CPU time per operation also counts the thread pool's
/// spinning, so it varies more. Each ratio comes with the 95% interval of its median, bootstrapped over the rounds (and
/// over generations of processes first, when there are several): a target is met only if the interval clears it.
/// </summary>
internal static class SideBySide
{
    // meters: per side, what the process that serves it has spent (this process when null); a side served by a process
    // of its own reports that process's CPU time, allocations and commands.
    public static async Task RunAsync(IReadOnlyList<(string Name, Func<Task> Operation)> sides, int concurrency, TimeSpan perSide, int rounds, TimeSpan warmUp,
        IReadOnlyList<(int Side, int To)>? pairs = null, IReadOnlyList<Func<Task<Usage>>>? meters = null)
    {
        Measurement measured = await MeasureAsync(sides, concurrency, perSide, rounds, warmUp, meters);
        Report([.. sides.Select(side => side.Name)], [measured], pairs);
    }

    /// <summary>Warms every side up, then runs <paramref name="rounds"/> rounds of them and counts their round trips.</summary>
    public static async Task<Measurement> MeasureAsync(IReadOnlyList<(string Name, Func<Task> Operation)> sides, int concurrency, TimeSpan perSide, int rounds, TimeSpan warmUp,
        IReadOnlyList<Func<Task<Usage>>>? meters = null)
    {
        Func<Task<Usage>> MeterOf(int side) => meters?[side] ?? ThisProcess;
        for (int side = 0; side < sides.Count; side++)
        {
            await LoadAsync(sides[side].Operation, MeterOf(side), concurrency, warmUp);
        }

        var throughput = sides.Select(_ => new List<double>()).ToArray();
        var totals = new Load[sides.Count];
        int[][] orders = BalancedOrders(sides.Count);
        for (int round = 0; round < rounds; round++)
        {
            foreach (int side in orders[round % orders.Length])
            {
                Load load = await LoadAsync(sides[side].Operation, MeterOf(side), concurrency, perSide);
                totals[side] += load;
                throughput[side].Add(load.PerSecond);
            }
        }

        var trips = new double[sides.Count];
        for (int side = 0; side < sides.Count; side++)
        {
            trips[side] = await RoundTripsAsync(sides[side].Operation, MeterOf(side));
        }

        return new Measurement(throughput, totals, trips);
    }

    /// <summary>
    /// Prints the sides' throughput, their ratios to the first side and the pairs' ratios, per round, over one
    /// measurement or several generations of it. A generation is a measurement by processes of its own: what differs
    /// between processes (their JIT's choices, their thread pools) is then in the spread, and each interval is
    /// bootstrapped over the generations, then over each one's rounds.
    /// </summary>
    public static void Report(IReadOnlyList<string> names, IReadOnlyList<Measurement> generations, IReadOnlyList<(int Side, int To)>? pairs = null)
    {
        // Per generation, each round's ratio of one side's throughput to another's in the same round.
        List<double>[] RatiosOf(int of, int to) => [.. generations.Select(g => g.Throughput[of].Zip(g.Throughput[to], (a, b) => a / b).ToList())];
        Load Total(int side) => generations.Aggregate(default(Load), (sum, g) => sum + g.Totals[side]);

        Console.WriteLine();
        Console.WriteLine($"{"side",-40} {"ops/s (median)",15} {"x " + names[0] + " (median of rounds)",28} {"95% interval",15} {"round trips/op",15} {"CPU us/op",10} {"alloc KB/op",12}");
        for (int side = 0; side < names.Count; side++)
        {
            List<double>[] ratios = RatiosOf(side, 0);
            (double low, double high) = MedianInterval(ratios);
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{names[side],-40} {Median([.. generations.SelectMany(g => g.Throughput[side])]),15:F0} {Median([.. ratios.SelectMany(r => r)]),28:F3} {$"{low:F3}-{high:F3}",15} {generations.Average(g => g.Trips[side]),15:F2} {Total(side).CpuMicrosecondsPerOp,10:F1} {Total(side).KilobytesPerOp,12:F1}"));
        }

        Console.WriteLine(generations.Count == 1 ? "per-round ratios:" : "per-round ratios (generations apart by |):");
        for (int side = 1; side < names.Count; side++)
        {
            IEnumerable<string> byGeneration = RatiosOf(side, 0).Select(ratios => string.Join(", ", ratios.Select(r => r.ToString("F3", CultureInfo.InvariantCulture))));
            Console.WriteLine($"  {names[side]}: {string.Join(" | ", byGeneration)}");
        }

        int[][] orders = BalancedOrders(names.Count);
        foreach ((int of, int to) in pairs ?? [])
        {
            List<double>[] pair = RatiosOf(of, to);
            (double low, double high) = MedianInterval(pair);

            // Four decimals: targets are read here, and three can round an interval's end onto the target itself.
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{names[of]} x {names[to]}: {Median([.. pair.SelectMany(r => r)]):F4} (95% interval {low:F4}-{high:F4}; alloc {Total(of).KilobytesPerOp / Total(to).KilobytesPerOp:F3} x)"));

            // Carry-over left in the design would show as orders that read differently.
            if (pair.All(ratios => ratios.Count >= orders.Length))
            {
                IEnumerable<double> byOrder = Enumerable.Range(0, orders.Length).Select(k => Median([.. pair.SelectMany(ratios => ratios.Where((_, round) => round % orders.Length == k))]));
                Console.WriteLine($"  by the order of its rounds ({string.Join(" | ", orders.Select(order => string.Join(" ", order)))}): {string.Join(", ", byOrder.Select(r => r.ToString("F4", CultureInfo.InvariantCulture)))}");
            }

            // Processes differ: each generation's own median shows by how much.
            if (generations.Count > 1)
            {
                Console.WriteLine($"  by generation: {string.Join(", ", pair.Select(ratios => Median(ratios).ToString("F4", CultureInfo.InvariantCulture)))}");
            }
        }
    }

    /// <summary>This process's CPU time and bytes allocated so far; its commands are counted by <see cref="RoundTripsAsync"/>.</summary>
    public static Task<Usage> ThisProcess()
    {
        using Process process = Process.GetCurrentProcess();
        return Task.FromResult(new Usage(process.TotalProcessorTime, GC.GetTotalAllocatedBytes(precise: false), Commands: null));
    }

    private static async Task<Load> LoadAsync(Func<Task> operation, Func<Task<Usage>> meter, int concurrency, TimeSpan duration)
    {
        long done = 0;
        Usage before = await meter();
        var clock = Stopwatch.StartNew();
        await Task.WhenAll(Enumerable.Range(0, concurrency).Select(async _ =>
        {
            while (clock.Elapsed < duration)
            {
                await operation();
                Interlocked.Increment(ref done);
            }
        }));
        TimeSpan elapsed = clock.Elapsed;
        Usage after = await meter();
        return new Load(done, elapsed, after.Cpu - before.Cpu, after.Allocated - before.Allocated);
    }

    private static async Task<double> RoundTripsAsync(Func<Task> operation, Func<Task<Usage>> meter)
    {
        const int Operations = 200;
        using var here = new NpgsqlCommandCount();
        Usage before = await meter();
        for (int i = 0; i < Operations; i++)
        {
            await operation();
        }

        // A side served by a process of its own counts its commands there; one served here, by the count above.
        Usage after = await meter();
        return (double)(after.Commands - before.Commands ?? here.Count) / Operations;
    }

    /// <summary>What a process has spent so far: CPU time, bytes allocated and, where it counts them, Npgsql commands run.</summary>
    public readonly record struct Usage(TimeSpan Cpu, long Allocated, long? Commands);

    /// <summary>One run of the sides: per side, each round's throughput, what its serving process spent, and its round trips per operation.</summary>
    internal sealed record Measurement(List<double>[] Throughput, Load[] Totals, double[] Trips);

    /// <summary>Operations done in a time, and the CPU time and bytes the serving process spent on them.</summary>
    internal readonly record struct Load(long Operations, TimeSpan Elapsed, TimeSpan Cpu, long Allocated)
    {
        public double PerSecond => Operations / Elapsed.TotalSeconds;

        public double CpuMicrosecondsPerOp => Cpu.TotalMicroseconds / Operations;

        public double KilobytesPerOp => Allocated / 1024.0 / Operations;

        public static Load operator +(Load a, Load b) =>
            new(a.Operations + b.Operations, a.Elapsed + b.Elapsed, a.Cpu + b.Cpu, a.Allocated + b.Allocated);
    }

    /// <summary>
    /// The orders of a cycle of rounds, balanced for carry-over (a Williams design): over a cycle, each side goes first
    /// equally often and directly follows each other side equally often. What a side leaves behind (its garbage, the
    /// thread pool's size, the database's state) then weighs on every other side alike; in a plain rotation each side
    /// would mostly follow one and the same neighbour. A cycle has <paramref name="count"/> orders when it is even,
    /// twice as many (each order also reversed) when it is odd.
    /// </summary>
    internal static int[][] BalancedOrders(int count)
    {
        // 0, 1, n-1, 2, n-2, ...: the step from each position to the next is different every time.
        var first = new int[count];
        for (int k = 1, low = 1, high = count - 1; k < count; k++)
        {
            first[k] = k % 2 == 1 ? low++ : high--;
        }

        IEnumerable<int[]> shifted = Enumerable.Range(0, count).Select(shift => first.Select(side => (side + shift) % count).ToArray());
        return count % 2 == 0 ? [.. shifted] : [.. shifted, .. shifted.Select(order => order.Reverse().ToArray())];
    }

    /// <summary>
    /// Where the median of the per-round ratios lies, 95% of the time: a percentile bootstrap over the rounds (fixed
    /// seed, so a run's output is its own). Rounds are taken as independent; the balanced orders keep them close to it.
    /// </summary>
    internal static (double Low, double High) MedianInterval(List<double> values) => MedianInterval([values]);

    /// <summary>
    /// The same over groups of rounds (generations of processes): each resample draws the groups, then the rounds of
    /// each group drawn, so that the interval holds the spread between groups as well as within them.
    /// </summary>
    internal static (double Low, double High) MedianInterval(IReadOnlyList<List<double>> groups)
    {
        const int Resamples = 4000;
        var random = new Random(12345);
        var medians = new double[Resamples];
        var sample = new List<double>(groups.Sum(group => group.Count));
        for (int r = 0; r < Resamples; r++)
        {
            sample.Clear();
            for (int g = 0; g < groups.Count; g++)
            {
                // One group is always itself: the rounds' own bootstrap, draw for draw.
                List<double> group = groups.Count == 1 ? groups[0] : groups[random.Next(groups.Count)];
                for (int i = 0; i < group.Count; i++)
                {
                    sample.Add(group[random.Next(group.Count)]);
                }
            }

            medians[r] = Median(sample);
        }

        Array.Sort(medians);
        return (medians[(int)(Resamples * 0.025)], medians[(int)(Resamples * 0.975) - 1]);
    }

    internal static double Median(List<double> values)
    {
        double[] sorted = [.. values.Order()];
        return sorted.Length % 2 == 1 ? sorted[sorted.Length / 2] : (sorted[(sorted.Length / 2) - 1] + sorted[sorted.Length / 2]) / 2;
    }
}
