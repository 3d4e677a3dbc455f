using System.Diagnostics;

namespace Postgres.Testing;

/// <summary>
/// Starts a watchdog script (pg-cluster.sh, pgbouncer.sh) that runs a server for the test host and removes it when the
/// host ends. PostgreSQL and PgBouncer both refuse to run as root: under root the script runs as the postgres user.
/// </summary>
internal static class Watchdog
{
    public static Process Start(string script, IEnumerable<string> arguments, IReadOnlyDictionary<string, string>? environment = null)
    {
        var start = new ProcessStartInfo
        {
            RedirectStandardError = true,
            RedirectStandardOutput = true,
            UseShellExecute = false,
        };
        string[] command = ["bash", Path.Combine(AppContext.BaseDirectory, script), .. arguments];
        if (Environment.IsPrivilegedProcess)
        {
            // setpriv replaces itself with the script: no extra parent is left.
            command = ["setpriv", "--reuid=postgres", "--regid=postgres", "--init-groups", .. command];
        }

        start.FileName = command[0];
        foreach (string argument in command[1..])
        {
            start.ArgumentList.Add(argument);
        }

        foreach ((string key, string value) in environment ?? new Dictionary<string, string>())
        {
            start.Environment[key] = value;
        }

        return Process.Start(start) ?? throw new InvalidOperationException($"Could not start {script}.");
    }

    /// <summary>
    /// Asks the script to stop its server and remove <paramref name="directory"/> (a "stop" file), waits for it up to
    /// <paramref name="grace"/>, and ends its process tree if it is still running then. Whatever the script managed, the
    /// directory is gone when this returns: a run must leave nothing behind, and a killed script removes nothing.
    /// </summary>
    public static async Task StopAsync(Process watchdog, string directory, TimeSpan grace)
    {
        if (!watchdog.HasExited)
        {
            try
            {
                await File.WriteAllTextAsync(Path.Combine(directory, "stop"), string.Empty).ConfigureAwait(false);
            }
            catch (IOException)
            {
                // Not created yet, or removed already: the wait and the kill below still end the script.
            }

            using var timeout = new CancellationTokenSource(grace);
            try
            {
                await watchdog.WaitForExitAsync(timeout.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                watchdog.Kill(entireProcessTree: true);
                await watchdog.WaitForExitAsync().ConfigureAwait(false);
            }
        }

        await RemoveAsync(directory).ConfigureAwait(false);
    }

    /// <summary>Removes the directory, retrying briefly: a server's last files may still be closing when it is first asked.</summary>
    private static async Task RemoveAsync(string directory)
    {
        for (int attempt = 1; Directory.Exists(directory); attempt++)
        {
            try
            {
                Directory.Delete(directory, recursive: true);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException && attempt < 50)
            {
                await Task.Delay(100).ConfigureAwait(false);
            }
        }
    }
}
