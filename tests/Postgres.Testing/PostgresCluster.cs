using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Npgsql;

namespace Postgres.Testing;

/// <summary>
/// A PostgreSQL server for a test run: a throwaway cluster from the installed binaries (initdb into a temp dir, a free
/// loopback port, fsync off; as the postgres user when running as root), or the server named by the
/// <see cref="ConnectionStringVariable"/> environment variable. Each test gets a database of its own from
/// <see cref="CreateDatabaseAsync(CancellationToken)"/>. A watchdog script removes the cluster when the test host ends, however it ends.
/// A throwaway cluster can also be stopped and started again (<see cref="StopServerAsync"/>,
/// <see cref="StartServerAsync"/>), to test outages; a test that does so starts a cluster of its own, since the one a
/// fixture shares serves other tests at the same time.
/// </summary>
public sealed class PostgresCluster : IAsyncDisposable
{
    /// <summary>Set it to an admin connection string to test against an existing server instead.</summary>
    public const string ConnectionStringVariable = "TENANT_SAAS_TEST_POSTGRES";

    private readonly Process? _watchdog;
    private readonly string? _directory;
    private readonly List<string> _databases = [];
    private readonly Lock _gate = new();
    private readonly Task<string>? _errors; // the watchdog's standard error, complete once it has exited

    private PostgresCluster(string adminConnectionString, Process? watchdog, string? directory, Task<string>? errors)
    {
        AdminConnectionString = adminConnectionString;
        _watchdog = watchdog;
        _directory = directory;
        _errors = errors;
    }

    /// <summary>A superuser connection string to the maintenance database.</summary>
    public string AdminConnectionString { get; }

    public static async Task<PostgresCluster> StartAsync(CancellationToken cancellationToken = default)
    {
        string? external = Environment.GetEnvironmentVariable(ConnectionStringVariable);
        return string.IsNullOrWhiteSpace(external)
            ? await StartThrowawayAsync([], cancellationToken).ConfigureAwait(false)
            : new PostgresCluster(external, watchdog: null, directory: null, errors: null);
    }

    /// <summary>A throwaway cluster whose server also runs with <paramref name="settings"/> (<c>name=value</c>).</summary>
    internal static async Task<PostgresCluster> StartThrowawayAsync(IReadOnlyList<string> settings, CancellationToken cancellationToken)
    {
        string bin = FindPostgresBin();
        int port = LoopbackPort.Free();
        string directory = Path.Combine(Path.GetTempPath(), $"tenant-saas-pg-{Environment.ProcessId}-{Guid.NewGuid():N}");
        Process watchdog = Watchdog.Start(
            "pg-cluster.sh",
            [directory, port.ToString(System.Globalization.CultureInfo.InvariantCulture), Environment.ProcessId.ToString(System.Globalization.CultureInfo.InvariantCulture), bin, .. settings]);
        Task<string> errors = watchdog.StandardError.ReadToEndAsync(cancellationToken);
        _ = watchdog.StandardOutput.ReadToEndAsync(cancellationToken);

        string admin = new NpgsqlConnectionStringBuilder
        {
            Host = "127.0.0.1",
            Port = port,
            Username = "postgres",
            Database = "postgres",
            Pooling = false,
            Timeout = 60, // a ceiling: on a busy machine a loopback login can take seconds
        }.ConnectionString;

        var cluster = new PostgresCluster(admin, watchdog, directory, errors);
        await cluster.WaitUntilAcceptingAsync("did not start", cancellationToken).ConfigureAwait(false);
        return cluster;
    }

    /// <summary>Whether <see cref="StopServerAsync"/> and <see cref="StartServerAsync"/> can be used: a throwaway cluster only.</summary>
    public bool CanRestart => _watchdog is not null;

    /// <summary>
    /// Stops the server with a fast shutdown and returns once it is gone: sessions are ended (57P01), new connections
    /// are refused, until <see cref="StartServerAsync"/>. A fast shutdown is a clean one: it writes a shutdown
    /// checkpoint, so acknowledged commits survive it even with fsync and synchronous_commit off.
    /// </summary>
    public async Task StopServerAsync(CancellationToken cancellationToken = default)
    {
        (Process watchdog, string directory) = Restartable();
        string stopped = Path.Combine(directory, "stopped");
        await File.WriteAllTextAsync(Path.Combine(directory, "down"), string.Empty, cancellationToken).ConfigureAwait(false);
        await Eventually.UntilAsync(() => File.Exists(stopped) || watchdog.HasExited, "the throwaway PostgreSQL cluster to stop", cancellationToken).ConfigureAwait(false);
        if (watchdog.HasExited)
        {
            throw new InvalidOperationException($"The throwaway PostgreSQL cluster did not stop:{Environment.NewLine}{await ErrorsAsync().ConfigureAwait(false)}");
        }
    }

    /// <summary>Starts the stopped server again on the same port and data directory; returns once it accepts connections.</summary>
    public async Task StartServerAsync(CancellationToken cancellationToken = default)
    {
        (_, string directory) = Restartable();
        File.Delete(Path.Combine(directory, "down"));
        await WaitUntilAcceptingAsync("did not start again", cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Creates a fresh, empty database and returns a connection string to it (pooling on).</summary>
    public Task<string> CreateDatabaseAsync(CancellationToken cancellationToken = default) =>
        CreateDatabaseAsync($"test_{Guid.NewGuid():N}", cancellationToken);

    /// <summary>Creates the empty database <paramref name="name"/> and returns a connection string to it (pooling on).</summary>
    internal async Task<string> CreateDatabaseAsync(string name, CancellationToken cancellationToken)
    {
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
        await Watchdog.StopAsync(_watchdog, _directory!, TimeSpan.FromSeconds(30)).ConfigureAwait(false);
        _watchdog.Dispose();
    }

    private (Process Watchdog, string Directory) Restartable() =>
        _watchdog is not null && _directory is not null
            ? (_watchdog, _directory)
            : throw new NotSupportedException($"Only a throwaway cluster can be stopped and started; this one comes from {ConnectionStringVariable}.");

    private async Task WaitUntilAcceptingAsync(string failure, CancellationToken cancellationToken)
    {
        var deadline = Stopwatch.StartNew();
        while (true)
        {
            if (_watchdog is { HasExited: true })
            {
                throw new InvalidOperationException($"The throwaway PostgreSQL cluster {failure}:{Environment.NewLine}{await ErrorsAsync().ConfigureAwait(false)}");
            }

            try
            {
                await using var connection = new NpgsqlConnection(AdminConnectionString);
                await connection.OpenAsync(cancellationToken).ConfigureAwait(false);
                return;
            }
            catch (NpgsqlException) when (deadline.Elapsed < Eventually.Ceiling)
            {
                // Refused while down, 57P03 while starting up: both pass once the server is ready.
                await Task.Delay(50, cancellationToken).ConfigureAwait(false);
            }
        }
    }

    private async Task<string> ErrorsAsync() =>
        _errors is not null && _watchdog is { HasExited: true } ? await _errors.ConfigureAwait(false) : "(the watchdog is still running)";

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

    internal static string FindPostgresBin()
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
}
