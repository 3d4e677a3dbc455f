using System.Diagnostics;

namespace Saas.Worker.Tests;

/// <summary>
/// Runs the real Worker program's command line (<c>tenants ...</c>) as a process, the way an operator does, with
/// stdout and stderr captured (redirected), or on a pseudo-terminal through util-linux's <c>script</c>.
/// </summary>
internal static class WorkerCommandLine
{
    /// <summary>What a run left: its exit code, stdout and stderr.</summary>
    public sealed record Run(int Exit, string Output, string Error)
    {
        /// <summary>stderr's lines, without the empty ones.</summary>
        public string[] ErrorLines => Error.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
    }

    /// <summary>Runs <c>Saas.Worker <paramref name="args"/></c> with <paramref name="connectionString"/> as ConnectionStrings__appdb (none when null).</summary>
    public static async Task<Run> RunAsync(string? connectionString, string[] args, params (string Key, string? Value)[] environment)
    {
        var start = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add(typeof(MigrationReadiness).Assembly.Location);
        foreach (string a in args)
        {
            start.ArgumentList.Add(a);
        }

        Configure(start, connectionString, environment);
        return await WaitAsync(start);
    }

    /// <summary>Like <see cref="RunAsync"/>, but sends SIGINT (Ctrl+C) once <paramref name="busy"/> holds.</summary>
    public static async Task<Run> InterruptAsync(string connectionString, string[] args, Func<Task<bool>> busy)
    {
        // Through env --default-signal: a test run started in the background (nohup, &) ignores SIGINT, and a process
        // inherits that, so Ctrl+C would never reach the command.
        var start = new ProcessStartInfo("env")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add("--default-signal=INT");
        start.ArgumentList.Add("dotnet");
        start.ArgumentList.Add(typeof(MigrationReadiness).Assembly.Location);
        foreach (string a in args)
        {
            start.ArgumentList.Add(a);
        }

        Configure(start, connectionString, []);
        return await WaitAsync(start, async process =>
        {
            await Eventually.UntilAsync(async () => process.HasExited || await busy(), "the command to be busy", TestContext.Current.CancellationToken);
            using Process signal = Process.Start("kill", ["-INT", process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]);
            await signal.WaitForExitAsync(TestContext.Current.CancellationToken);
        });
    }

    /// <summary>Like <see cref="RunAsync"/>, but with stdout and stderr on one pseudo-terminal (TERM=xterm), captured together as Output.</summary>
    public static async Task<Run> RunOnTerminalAsync(string? connectionString, string[] args, params (string Key, string? Value)[] environment)
    {
        const string script = "/usr/bin/script";
        Assert.True(File.Exists(script), $"{script} is missing: apt-get install bsdutils (util-linux's script gives the command line a terminal).");
        string command = string.Join(' ', ((string[])["dotnet", typeof(MigrationReadiness).Assembly.Location, .. args]).Select(Quote));
        var start = new ProcessStartInfo(script)
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (string a in (string[])["--quiet", "--return", "--command", command, "/dev/null"])
        {
            start.ArgumentList.Add(a);
        }

        Configure(start, connectionString, [("TERM", "xterm"), .. environment]);
        return await WaitAsync(start);
    }

    private static void Configure(ProcessStartInfo start, string? connectionString, (string Key, string? Value)[] environment)
    {
        // Only what the test gives: nothing from the machine's environment reaches the command's configuration.
        foreach (string inherited in start.Environment.Keys.Where(k => k.StartsWith("ConnectionStrings__", StringComparison.OrdinalIgnoreCase) || k.StartsWith("Tenancy__", StringComparison.OrdinalIgnoreCase)).ToList())
        {
            start.Environment.Remove(inherited);
        }

        foreach ((string key, string? value) in (IEnumerable<(string, string?)>)[("ConnectionStrings__appdb", connectionString), ("Tenancy__Migrations__RetryDelay", "00:00:00.010"), .. environment])
        {
            if (value is null)
            {
                start.Environment.Remove(key);
            }
            else
            {
                start.Environment[key] = value;
            }
        }
    }

    private static async Task<Run> WaitAsync(ProcessStartInfo start, Func<Process, Task>? whileRunning = null)
    {
        CancellationToken cancellation = TestContext.Current.CancellationToken;
        using Process process = Process.Start(start)!;
        if (start.RedirectStandardInput)
        {
            process.StandardInput.Close();
        }

        Task<string> output = process.StandardOutput.ReadToEndAsync(cancellation);
        Task<string> error = process.StandardError.ReadToEndAsync(cancellation);
        if (whileRunning is not null)
        {
            await whileRunning(process);
        }

        await process.WaitForExitAsync(cancellation);
        return new Run(process.ExitCode, await output, await error);
    }

    private static string Quote(string argument) => $"'{argument.Replace("'", "'\\''", StringComparison.Ordinal)}'";
}
