using System.Diagnostics;

namespace Saas.AppHost.Tests;

/// <summary>
/// An installed Chromium (Debian's by default, CHROMIUM_PATH for another) driven by playwright-core, which is installed
/// here from the lock file beside the script when missing; the browser is not downloaded, it is a system package the
/// machine must have (`apt-get install chromium`).
/// </summary>
internal static class Browser
{
    // The script reads the same variable.
    private static readonly string ChromiumPath = Environment.GetEnvironmentVariable("CHROMIUM_PATH") ?? "/usr/bin/chromium";

    private static readonly string ScriptDirectory = Path.Combine(AppContext.BaseDirectory, "browser");
    private static readonly SemaphoreSlim Gate = new(1, 1);

    /// <summary>Runs one of the scripts in browser/ with <paramref name="arguments"/>; returns its exit code and what it printed.</summary>
    public static async Task<(int Exit, string Output)> RunScriptAsync(string script, string[] arguments, CancellationToken cancellationToken)
    {
        await EnsureInstalledAsync(cancellationToken);
        return await RunAsync("node", [Path.Combine(ScriptDirectory, script), .. arguments], ScriptDirectory, cancellationToken);
    }

    private static async Task EnsureInstalledAsync(CancellationToken cancellationToken)
    {
        await Gate.WaitAsync(cancellationToken);
        try
        {
            if (!File.Exists(ChromiumPath))
            {
                throw new InvalidOperationException($"{ChromiumPath} is missing: install Chromium (`sudo apt-get install chromium`), or set CHROMIUM_PATH to a Chromium-based browser.");
            }

            if (!Directory.Exists(Path.Combine(ScriptDirectory, "node_modules", "playwright-core")))
            {
                await MustAsync(RunAsync("npm", ["ci", "--no-audit", "--no-fund"], ScriptDirectory, cancellationToken));
            }
        }
        finally
        {
            Gate.Release();
        }
    }

    private static async Task MustAsync(Task<(int Exit, string Output)> run)
    {
        (int exit, string output) = await run;
        if (exit != 0)
        {
            throw new InvalidOperationException($"Installing the browser check's prerequisites failed ({exit}):{Environment.NewLine}{output}");
        }
    }

    private static async Task<(int Exit, string Output)> RunAsync(string file, string[] args, string directory, CancellationToken cancellationToken)
    {
        var start = new ProcessStartInfo(file, args)
        {
            WorkingDirectory = directory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        using Process process = Process.Start(start)!;
        Task<string> output = process.StandardOutput.ReadToEndAsync(cancellationToken);
        Task<string> error = process.StandardError.ReadToEndAsync(cancellationToken);
        await process.WaitForExitAsync(cancellationToken);
        return (process.ExitCode, await output + await error);
    }
}
