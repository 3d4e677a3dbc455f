using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Text.RegularExpressions;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Npgsql;
using Postgres.Testing;
using Saas.Data;
using Tenants.Shared;
using Tenants.Shared.Catalog;
using Tenants.Shared.Migrations;

namespace Benchmarks;

/// <summary>
/// Attribution, not a claim: which of a tenant migration's commands grow with the tenants already migrated. N tenants
/// are registered at once and migrated as P4's large side migrates them (shipped settings, tenant roles on, the app
/// role a member of each); the commands of an early window of tenants (after one window of warm-up) and of the last
/// window are timed from Npgsql's spans, grouped by their text with tenant names taken out. The times are wall times of
/// commands that run in parallel (the runner's parallelism) and wait on each other's locks, so they add up to more
/// than the elapsed time: compare a command's two windows, not commands with each other.
/// </summary>
internal static partial class MigrationCommandsBenchmark
{
    private const string Prefix = "mc";

    public static async Task RunAsync(int tenants, int window)
    {
        window = Math.Min(window, tenants / 3);
        await using PostgresCluster cluster = await PostgresCluster.StartAsync();
        Console.WriteLine($"PostgreSQL: throwaway cluster (fsync off); {Environment.ProcessorCount} cores; {tenants} tenants, windows of {window}");
        string owner = await cluster.CreateDatabaseAsync();
        const string AppRole = "app_commands";
        await AppLogins.CreateAppRoleAsync(owner, AppRole, CancellationToken.None);
        string app = new NpgsqlConnectionStringBuilder(owner) { Username = AppRole }.ConnectionString;

        await using ServiceProvider services = new ServiceCollection()
            .AddLogging(l => l.SetMinimumLevel(LogLevel.Warning))
            .AddTenancy(app, o => o.TenantRoles = true, owner)
            .AddTenantDbContext<AppDbContext>()
            .BuildServiceProvider();
        string[] names = [.. Enumerable.Range(0, tenants).Select(i => $"{Prefix}_{i:D5}")];
        var registry = services.GetRequiredService<ITenantRegistry>();
        foreach (string name in names)
        {
            await registry.RegisterAsync(name);
        }

        var runner = services.GetRequiredService<TenantMigrationRunner<AppDbContext>>();
        using var commands = new CommandTimes();
        await MigrateAsync(runner, commands, names[..window], record: false); // warm-up: JIT, EF Core's model, pools
        Window early = await MigrateAsync(runner, commands, names[window..(2 * window)], record: true);
        await MigrateAsync(runner, commands, names[(2 * window)..^window], record: false);
        Window last = await MigrateAsync(runner, commands, names[^window..], record: true);

        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"tenants {window}-{2 * window - 1}: {early.MsPerTenant:F1} ms a tenant (wall, {runner.Parallelism(services.GetRequiredService<IOptions<MigrationRunnerOptions>>().Value)} in parallel); last {window}: {last.MsPerTenant:F1} ms"));
        Console.WriteLine();
        Console.WriteLine($"{"command (tenant names taken out)",-90} {"calls/t",8} {"early ms/t",11} {"last ms/t",10} {"last-early",11}");
        foreach (string text in early.ByCommand.Keys.Union(last.ByCommand.Keys)
            .OrderByDescending(t => last.ByCommand.GetValueOrDefault(t).Ms - early.ByCommand.GetValueOrDefault(t).Ms))
        {
            (int calls, double a) = early.ByCommand.GetValueOrDefault(text);
            double b = last.ByCommand.GetValueOrDefault(text).Ms;
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{text,-90} {calls / (double)window,8:F2} {a / window,11:F2} {b / window,10:F2} {(b - a) / window,11:+0.00;-0.00}"));
        }
    }

    private static async Task<Window> MigrateAsync(TenantMigrationRunner<AppDbContext> runner, CommandTimes commands, string[] tenants, bool record)
    {
        commands.Recording = record;
        commands.Clear();
        var clock = Stopwatch.StartNew();
        MigrationRunReport report = await runner.RunAsync(only: tenants);
        clock.Stop();
        commands.Recording = false;
        if (report.Failed > 0)
        {
            throw new InvalidOperationException($"{report.Failed} tenant(s) failed: {report.Outcomes.First(o => !o.Succeeded).Error}");
        }

        return new Window(clock.Elapsed.TotalMilliseconds / tenants.Length, commands.Snapshot());
    }

    private sealed record Window(double MsPerTenant, Dictionary<string, (int Calls, double Ms)> ByCommand);

    /// <summary>Npgsql's command spans, summed by command text with tenant names and whitespace runs collapsed.</summary>
    private sealed class CommandTimes : IDisposable
    {
        private readonly ActivityListener _listener;
        private readonly ConcurrentQueue<(string Text, double Ms)> _seen = new();

        public CommandTimes()
        {
            _listener = new ActivityListener
            {
                ShouldListenTo = source => source.Name == "Npgsql",
                Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
                ActivityStopped = activity =>
                {
                    if (Recording && (activity.GetTagItem("db.query.text") ?? activity.GetTagItem("db.statement")) is string text)
                    {
                        _seen.Enqueue((text, activity.Duration.TotalMilliseconds));
                    }
                },
            };
            ActivitySource.AddActivityListener(_listener);
        }

        public volatile bool Recording;

        public void Clear() => _seen.Clear();

        public Dictionary<string, (int Calls, double Ms)> Snapshot() =>
            _seen.GroupBy(s => Normalize(s.Text)).ToDictionary(g => g.Key, g => (g.Count(), g.Sum(s => s.Ms)));

        public void Dispose() => _listener.Dispose();

        private static string Normalize(string text)
        {
            string flat = Whitespace().Replace(TenantName().Replace(text, "{t}"), " ").Trim();
            return flat.Length <= 90 ? flat : flat[..87] + "...";
        }
    }

    [GeneratedRegex($@"{Prefix}_\d{{5}}")]
    private static partial Regex TenantName();

    [GeneratedRegex(@"\s+")]
    private static partial Regex Whitespace();
}
