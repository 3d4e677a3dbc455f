using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

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

    /// <summary>A loopback port free right now, for the server the script starts.</summary>
    public static int FreeLoopbackPort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
