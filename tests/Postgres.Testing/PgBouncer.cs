using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using Npgsql;

namespace Postgres.Testing;

/// <summary>
/// A throwaway PgBouncer for one test, in front of a test database's server: a free loopback port, the chosen
/// <c>pool_mode</c>, trust authentication for the database's user (the server password, if any, in its auth file), as the
/// postgres user when running as root (pgbouncer refuses root). A watchdog script removes it when the test host ends,
/// however it ends. Needs the Debian package <c>pgbouncer</c>; without it the test fails and says so.
/// </summary>
public sealed class PgBouncer : IAsyncDisposable
{
    /// <summary>Where the Debian package installs it.</summary>
    public const string Binary = "/usr/sbin/pgbouncer";

    /// <summary>
    /// Server connections per database and user (pgbouncer's <c>default_pool_size</c>). In session mode an idle Npgsql
    /// connection holds a server for its whole life, so Npgsql's pools (<see cref="ClientPoolSize"/> each) must fit in it.
    /// </summary>
    public const int ServerPoolSize = 40;

    /// <summary>The Npgsql <c>Maximum Pool Size</c> of <see cref="ConnectionString"/>: the app's and the owner's pools fit.</summary>
    public const int ClientPoolSize = 10;

    private readonly Process _watchdog;
    private readonly string _directory;

    private PgBouncer(string connectionString, string poolMode, Process watchdog, string directory)
    {
        ConnectionString = connectionString;
        PoolMode = poolMode;
        _watchdog = watchdog;
        _directory = directory;
    }

    /// <summary>The test database through the bouncer, Npgsql pooling on (Npgsql's pool in front of PgBouncer's, as in production).</summary>
    public string ConnectionString { get; }

    /// <summary>session, transaction or statement.</summary>
    public string PoolMode { get; }

    /// <summary>Starts a PgBouncer in <paramref name="poolMode"/> in front of the server and database of <paramref name="databaseConnectionString"/>.</summary>
    public static async Task<PgBouncer> StartAsync(string databaseConnectionString, string poolMode, CancellationToken cancellationToken = default)
    {
        if (poolMode is not ("session" or "transaction" or "statement"))
        {
            throw new ArgumentOutOfRangeException(nameof(poolMode), poolMode, "session, transaction or statement");
        }

        if (!File.Exists(Binary))
        {
            throw new InvalidOperationException(
                $"PgBouncer is not installed ({Binary} is missing). Install it with `apt-get install pgbouncer`: the tests start their own, the package's service is not needed.");
        }

        var server = new NpgsqlConnectionStringBuilder(databaseConnectionString);
        int port = LoopbackPort.Free();
        string directory = Path.Combine(Path.GetTempPath(), $"tenant-saas-pgb-{Environment.ProcessId}-{Guid.NewGuid():N}");
        Process watchdog = Watchdog.Start(
            "pgbouncer.sh",
            [
                directory, Invariant(port), Invariant(Environment.ProcessId), Binary, poolMode,
                server.Host ?? "127.0.0.1", Invariant(server.Port), server.Username ?? Environment.UserName,
            ],
            new Dictionary<string, string> { ["PGB_PASSWORD"] = server.Password ?? string.Empty });
        Task<string> errors = watchdog.StandardError.ReadToEndAsync(cancellationToken);
        _ = watchdog.StandardOutput.ReadToEndAsync(cancellationToken);

        string through = new NpgsqlConnectionStringBuilder(databaseConnectionString)
        {
            Host = "127.0.0.1",
            Port = port,
            Pooling = true,
            MaxPoolSize = ClientPoolSize,
        }.ConnectionString;
        var bouncer = new PgBouncer(through, poolMode, watchdog, directory);

        // Ready once a login through it reaches the server (a non-pooled probe: nothing stays open).
        string probe = new NpgsqlConnectionStringBuilder(through) { Pooling = false, Timeout = 60 }.ConnectionString;
        var deadline = Stopwatch.StartNew();
        while (true)
        {
            if (watchdog.HasExited)
            {
                await bouncer.DisposeAsync().ConfigureAwait(false);
                throw new InvalidOperationException($"The throwaway PgBouncer did not start:{Environment.NewLine}{await errors.ConfigureAwait(false)}");
            }

            try
            {
                await using var connection = new NpgsqlConnection(probe);
                await connection.OpenAsync(cancellationToken).ConfigureAwait(false);
                return bouncer;
            }
            catch (NpgsqlException) when (deadline.Elapsed < Eventually.Ceiling)
            {
                await Task.Delay(100, cancellationToken).ConfigureAwait(false);
            }
            catch
            {
                await bouncer.DisposeAsync().ConfigureAwait(false);
                throw;
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        // Npgsql's idle connections to the bouncer go first (the watchdog's immediate shutdown would cut them anyway).
        await using (var connection = new NpgsqlConnection(ConnectionString))
        {
            NpgsqlConnection.ClearPool(connection);
        }

        await Watchdog.StopAsync(_watchdog, _directory, TimeSpan.FromSeconds(15)).ConfigureAwait(false);
        _watchdog.Dispose();
    }

    /// <summary>
    /// What README.md asks of an operator behind PgBouncer, which drops Npgsql's search_path startup parameter: the
    /// login role of <paramref name="connectionString"/> gets <paramref name="sharedSchema"/> as its default in that
    /// database only.
    /// </summary>
    public static async Task SetRoleDefaultSearchPathAsync(string connectionString, string sharedSchema, CancellationToken cancellationToken = default)
    {
        var settings = new NpgsqlConnectionStringBuilder(connectionString);
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var command = new NpgsqlCommand(
            $"ALTER ROLE {AppLogins.Quote(settings.Username!)} IN DATABASE {AppLogins.Quote(settings.Database!)} SET search_path = {AppLogins.Quote(sharedSchema)}", connection);
        await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }

    private static string Invariant(int value) => value.ToString(CultureInfo.InvariantCulture);
}
