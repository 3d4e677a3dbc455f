using System.Globalization;
using Spectre.Console;
using Tenants.Shared.Migrations;

namespace Saas.Worker.Commands;

/// <summary>
/// Shows a migration pass's progress on stderr: a progress bar when stderr is a terminal, else plain lines (at most
/// one a second, and the last), which a log or CI output keeps readable.
/// </summary>
internal static class MigrationProgressDisplay
{
    public static async Task<T> RunAsync<T>(TextWriter error, Func<IProgress<MigrationProgress>, Task<T>> run)
    {
        if (error != Console.Error || Console.IsErrorRedirected || Environment.GetEnvironmentVariable("TERM") is null or "dumb")
        {
            return await run(new Lines(error));
        }

        // Decided here, from stderr alone: Spectre's own detection also looks at stdout, which a pipe may take.
        IAnsiConsole terminal = AnsiConsole.Create(new AnsiConsoleSettings
        {
            Out = new AnsiConsoleOutput(error),
            Ansi = AnsiSupport.Yes,
            Interactive = InteractionSupport.Yes,
        });
        return await terminal.Progress()
            .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new ElapsedTimeColumn())
            .StartAsync(async context =>
            {
                ProgressTask bar = context.AddTask("migrating", maxValue: 1);
                bar.IsIndeterminate = true;
                T result = await run(new Bar(bar));
                bar.IsIndeterminate = false;
                bar.Value = bar.MaxValue;
                return result;
            });
    }

    private static string Describe(MigrationProgress p) =>
        string.Create(CultureInfo.InvariantCulture, $"migrated {p.Done}/{p.Total}, failed {p.Failed}, {p.TenantsPerSecond:F1} tenants/s");

    /// <summary>Reports come from the runner's parallel workers, possibly out of order: the furthest one wins.</summary>
    private sealed class Lines(TextWriter error) : IProgress<MigrationProgress>
    {
        private static readonly TimeSpan Interval = TimeSpan.FromSeconds(1);
        private readonly Lock _gate = new();
        private int _done = -1;
        private DateTimeOffset _shown = DateTimeOffset.MinValue;

        public void Report(MigrationProgress value)
        {
            lock (_gate)
            {
                if (value.Done <= _done)
                {
                    return;
                }

                _done = value.Done;
                if (value.Done == value.Total || DateTimeOffset.UtcNow - _shown >= Interval)
                {
                    _shown = DateTimeOffset.UtcNow;
                    error.WriteLine(Describe(value));
                }
            }
        }
    }

    private sealed class Bar(ProgressTask bar) : IProgress<MigrationProgress>
    {
        private readonly Lock _gate = new();

        public void Report(MigrationProgress value)
        {
            lock (_gate)
            {
                if (value.Done <= bar.Value && !bar.IsIndeterminate)
                {
                    return;
                }

                bar.IsIndeterminate = false;
                bar.MaxValue = value.Total;
                bar.Value = value.Done;
                bar.Description = Describe(value);
            }
        }
    }
}
