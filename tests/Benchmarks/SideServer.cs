using System.Diagnostics;
using System.Globalization;

namespace Benchmarks;

/// <summary>
/// One side's Api in a process of its own, as an app is deployed: its JIT and profile-guided optimisation see only that
/// side's path. In one shared process, every side's types meet at the same call sites in EF Core, Npgsql and ASP.NET
/// Core, and which of them the optimiser favours differs from process to process. The parent loads the server over
/// loopback and reads what it spent from its <c>/usage</c> endpoint.
/// </summary>
internal sealed class SideServer : IAsyncDisposable
{
    private const string ListeningPrefix = "side server listening on ";

    // The commands this process runs; counted only in a side server's own process.
    private static NpgsqlCommandCount? s_commands;

    private readonly Process _process;
    private readonly Task<List<string>> _output;

    private SideServer(Process process, Uri address)
    {
        _process = process;
        Client = new HttpClient { BaseAddress = address };

        // Drained all along, so that the server never blocks on a full pipe; relayed when it stops.
        _output = Task.Run(async () =>
        {
            List<string> lines = [];
            while (await process.StandardOutput.ReadLineAsync() is { } line)
            {
                lines.Add(line);
            }

            return lines;
        });
    }

    public HttpClient Client { get; }

    /// <summary>Starts a server over <paramref name="database"/>, seeded already, and waits until it listens.</summary>
    public static async Task<SideServer> StartAsync(string database)
    {
        ProcessStartInfo start = ThisExecutable.With(["side-server", database]);
        start.RedirectStandardInput = true;
        Process process = Process.Start(start) ?? throw new InvalidOperationException("Could not start a side server.");

        // What it prints while starting (the Api's startup warnings, as in a one-process run) is shown only if it fails.
        List<string> startup = [];
        while (await process.StandardOutput.ReadLineAsync() is { } line)
        {
            if (line.StartsWith(ListeningPrefix, StringComparison.Ordinal))
            {
                return new SideServer(process, new Uri(line[ListeningPrefix.Length..]));
            }

            startup.Add(line);
        }

        await process.WaitForExitAsync();
        throw new InvalidOperationException($"A side server exited with {process.ExitCode} before it listened:{Environment.NewLine}{string.Join(Environment.NewLine, startup)}");
    }

    /// <summary>What the server's process has spent so far.</summary>
    public async Task<SideBySide.Usage> UsageAsync()
    {
        string[] parts = (await Client.GetStringAsync("/usage")).Split(' ');
        return new SideBySide.Usage(
            TimeSpan.FromTicks(long.Parse(parts[0], CultureInfo.InvariantCulture)),
            long.Parse(parts[1], CultureInfo.InvariantCulture),
            long.Parse(parts[2], CultureInfo.InvariantCulture));
    }

    /// <summary>Stops the server (it ends when its standard input closes) and prints what it printed, prefixed by <paramref name="name"/>.</summary>
    public async Task StopAsync(string name)
    {
        _process.StandardInput.Close();
        foreach (string line in await _output)
        {
            Console.WriteLine($"{name}: {line}");
        }

        await _process.WaitForExitAsync();
    }

    public async ValueTask DisposeAsync()
    {
        Client.Dispose();
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }

        _process.Dispose();
    }

    /// <summary>The server's own process: the benchmark Api on Kestrel until standard input closes.</summary>
    public static async Task<int> ServeAsync(string database)
    {
        using var commands = new NpgsqlCommandCount();
        s_commands = commands;
        await using var api = new BenchApi(database);
        api.UseKestrel(0);
        api.StartServer();
        Console.WriteLine(ListeningPrefix + api.ClientOptions.BaseAddress);
        await Console.In.ReadToEndAsync();
        BenchTenant.PrintDedicatedPools(api.Services);
        return 0;
    }

    /// <summary>The process's CPU time (ticks), bytes allocated and commands run, as <see cref="UsageAsync"/> reads them.</summary>
    public static string UsageLine()
    {
        using Process process = Process.GetCurrentProcess();
        return string.Create(CultureInfo.InvariantCulture,
            $"{process.TotalProcessorTime.Ticks} {GC.GetTotalAllocatedBytes(precise: false)} {s_commands?.Count ?? 0}");
    }
}
