using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Npgsql;

namespace Postgres.Testing;

/// <summary>
/// A PostgreSQL server for a test run: a throwaway cluster from the installed binaries (initdb into a temp dir, a free
/// loopback port, fsync off; as the postgres user when running as root), or the server named by the
/// <see cref="ConnectionStringVariable"/> environment variable. Each test gets a database of its own from
/// <see cref="CreateDatabaseAsync"/>. A watchdog script removes the cluster when the test host ends, however it ends.
/// </summary>
public sealed class PostgresCluster : IAsyncDisposable
{
    /// <summary>Set it to an admin connection string to test against an existing server instead.</summary>
    public const string ConnectionStringVariable = "TENANT_SAAS_TEST_POSTGRES";

    private readonly Process? _watchdog;
    private readonly string? _directory;
    private readonly List<string> _databases = [];
    private readonly Lock _gate = new();

    private PostgresCluster(string adminConnectionString, Process? watchdog, string? directory)
    {
        AdminConnectionString = adminConnectionString;
        _watchdog = watchdog;
        _directory = directory;
    }

    /// <summary>A superuser connection string to the maintenance database.</summary>
    public string AdminConnectionString { get; }

    public static async Task<PostgresCluster> StartAsync(CancellationToken cancellationToken = default)
    {
        string? external = Environment.GetEnvironmentVariable(ConnectionStringVariable);
        if (!string.IsNullOrWhiteSpace(external))
        {
            return new PostgresCluster(external, watchdog: null, directory: null);
        }

        string bin = FindPostgresBin();
        int port = FreeLoopbackPort();
        string directory = Path.Combine(Path.GetTempPath(), $"tenant-saas-pg-{Environment.ProcessId}-{Guid.NewGuid():N}");
        string script = Path.Combine(AppContext.BaseDirectory, "pg-cluster.sh");
        string[] arguments = ["bash", script, directory, port.ToString(System.Globalization.CultureInfo.InvariantCulture), Environment.ProcessId.ToString(System.Globalization.CultureInfo.InvariantCulture), bin];

        var start = new ProcessStartInfo
        {
            RedirectStandardError = true,
            RedirectStandardOutput = true,
            UseShellExecute = false,
        };
        if (Environment.IsPrivilegedProcess)
        {
            // PostgreSQL refuses to run as root. setpriv replaces itself with the script: no extra parent is left.
            start.FileName = "setpriv";
            foreach (string a in (string[])["--reuid=postgres", "--regid=postgres", "--init-groups", .. arguments])
            {
                start.ArgumentList.Add(a);
            }
        }
        else
        {
            start.FileName = arguments[0];
            foreach (string a in arguments[1..])
            {
                start.ArgumentList.Add(a);
            }
        }

        var watchdog = Process.Start(start) ?? throw new InvalidOperationException("Could not start the PostgreSQL watchdog script.");
        Task<string> errors = watchdog.StandardError.ReadToEndAsync(cancellationToken);
        _ = watchdog.StandardOutput.ReadToEndAsync(cancellationToken);

        string admin = new NpgsqlConnectionStringBuilder
        {
            Host = "127.0.0.1",
            Port = port,
            Username = "postgres",
            Database = "postgres",
            Pooling = false,
            Timeout = 5,
        }.ConnectionString;

        var cluster = new PostgresCluster(admin, watchdog, directory);
        var deadline = Stopwatch.StartNew();
        while (true)
        {
            if (watchdog.HasExited)
            {
                throw new InvalidOperationException($"The throwaway PostgreSQL cluster did not start:{Environment.NewLine}{await errors.ConfigureAwait(false)}");
            }

            try
            {
                await using var connection = new NpgsqlConnection(admin);
                await connection.OpenAsync(cancellationToken).ConfigureAwait(false);
                return cluster;
            }
            catch (NpgsqlException) when (deadline.Elapsed < TimeSpan.FromSeconds(60))
            {
                await Task.Delay(100, cancellationToken).ConfigureAwait(false);
            }
        }
    }

    /// <summary>Creates a fresh, empty database and returns a connection string to it (pooling on).</summary>
    public async Task<string> CreateDatabaseAsync(CancellationToken cancellationToken = default)
    {
        string name = $"test_{Guid.NewGuid():N}";
        await using (var connection = new NpgsqlConnection(AdminConnectionString))
        {
            await connection.OpenAsync(cancellationToken).ConfigureAwait(false);
            await using var command = new NpgsqlCommand($"CREATE DATABASE \"{name}\"", connection);
            await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }

        lock (_gate)
        {
            _databases.Add(name);
        }

        return new NpgsqlConnectionStringBuilder(AdminConnectionString)
        {
            Database = name,
            Pooling = true,
            Timeout = 60,
            CommandTimeout = 120,
        }.ConnectionString;
    }

    public async ValueTask DisposeAsync()
    {
        if (_watchdog is null)
        {
            await DropDatabasesAsync().ConfigureAwait(false);
            return;
        }

        NpgsqlConnection.ClearAllPools();
        if (!_watchdog.HasExited)
        {
            // The watchdog stops PostgreSQL and removes the directory when it sees this file.
            await File.WriteAllTextAsync(Path.Combine(_directory!, "stop"), string.Empty).ConfigureAwait(false);
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            try
            {
                await _watchdog.WaitForExitAsync(timeout.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                _watchdog.Kill(entireProcessTree: true);
            }
        }

        _watchdog.Dispose();
    }

    private async Task DropDatabasesAsync()
    {
        NpgsqlConnection.ClearAllPools();
        await using var connection = new NpgsqlConnection(AdminConnectionString);
        await connection.OpenAsync().ConfigureAwait(false);
        foreach (string name in _databases)
        {
            await using var command = new NpgsqlCommand($"DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)", connection);
            await command.ExecuteNonQueryAsync().ConfigureAwait(false);
        }
    }

    private static string FindPostgresBin()
    {
        string? configured = Environment.GetEnvironmentVariable("PG_BIN");
        if (!string.IsNullOrEmpty(configured))
        {
            return configured;
        }

        string? newest = Directory.Exists("/usr/lib/postgresql")
            ? Directory.GetDirectories("/usr/lib/postgresql")
                .Select(d => Path.Combine(d, "bin"))
                .Where(d => File.Exists(Path.Combine(d, "initdb")))
                .OrderByDescending(d => int.TryParse(Path.GetFileName(Path.GetDirectoryName(d)), out int v) ? v : 0)
                .FirstOrDefault()
            : null;
        return newest ?? throw new InvalidOperationException(
            $"No PostgreSQL server binaries found under /usr/lib/postgresql (install postgresql), and neither PG_BIN nor {ConnectionStringVariable} is set.");
    }

    private static int FreeLoopbackPort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
