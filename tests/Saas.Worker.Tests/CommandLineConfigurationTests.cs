using System.Net;
using System.Net.Sockets;
using Npgsql;
using static Saas.Worker.Tests.WorkerCommandLine;

namespace Saas.Worker.Tests;

/// <summary>
/// A wrong configuration ends the command line with exit code 2 and one line on stderr that names what is wrong:
/// no stack trace, never the password, nothing done.
/// </summary>
public sealed class CommandLineConfigurationTests(PostgresFixture postgres) : IAsyncLifetime
{
    private const string Password = "pw-never-printed-Qx";

    // A login the throwaway cluster checks with a password, whatever is sent: no role has the name, and for an
    // unknown role PostgreSQL answers as for a wrong password.
    private const string PasswordCheckedUser = "cli_password_checked";

    private string? _hbaFile;
    private string? _hba;

    private static CancellationToken Cancellation => TestContext.Current.CancellationToken;

    /// <summary>Puts a scram-sha-256 rule for <see cref="PasswordCheckedUser"/> first in the cluster's pg_hba.conf (the rest trusts).</summary>
    public async ValueTask InitializeAsync()
    {
        if (!postgres.Cluster.CanRestart)
        {
            return; // a server of the developer's own: its pg_hba.conf is not the tests' to change
        }

        _hbaFile = (string)(await AdminScalarAsync("SHOW hba_file"))!;
        _hba = await File.ReadAllTextAsync(_hbaFile, Cancellation);
        await File.WriteAllTextAsync(_hbaFile, $"host all {PasswordCheckedUser} 127.0.0.1/32 scram-sha-256\n{_hba}", Cancellation);
        await AdminScalarAsync("SELECT pg_reload_conf()");
        await Eventually.UntilAsync(async () => await LoginErrorAsync(PasswordChecked("postgres")) == PostgresErrorCodes.InvalidPassword, "pg_hba.conf to be reloaded", Cancellation);
    }

    public async ValueTask DisposeAsync()
    {
        if (_hbaFile is not null && _hba is not null)
        {
            await File.WriteAllTextAsync(_hbaFile, _hba, CancellationToken.None);
            await AdminScalarAsync("SELECT pg_reload_conf()");
        }
    }

    [Fact]
    public async Task Without_a_connection_string_it_exits_two_naming_the_setting()
    {
        Run run = await RunAsync(null, ["tenants", "list"]);
        AssertConfigurationError(run, "ConnectionStrings:appdb is not set");
        Assert.Contains("ConnectionStrings__appdb", run.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_malformed_connection_string_exits_two_naming_it()
    {
        Run run = await RunAsync($"Hots=127.0.0.1;Password={Password}", ["tenants", "list"]);
        AssertConfigurationError(run, "ConnectionStrings:appdb is not a valid connection string");
    }

    [Fact]
    public async Task An_unreachable_server_exits_two_naming_the_connection_and_the_reason()
    {
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        int closed = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop(); // nothing listens there now: the connection is refused

        Run run = await RunAsync($"Host=127.0.0.1;Port={closed};Database=appdb;Username=app;Password={Password}", ["tenants", "migrate"]);
        AssertConfigurationError(run, $"cannot connect with ConnectionStrings:appdb (Host=127.0.0.1;Port={closed};Database=appdb;Username=app)");
        Assert.Contains("Failed to connect", run.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_missing_database_exits_two()
    {
        var missing = new NpgsqlConnectionStringBuilder(postgres.Cluster.AdminConnectionString) { Database = "no_such_database", Password = Password };
        Run run = await RunAsync(missing.ConnectionString, ["tenants", "status"]);
        AssertConfigurationError(run, "database \"no_such_database\" does not exist");
    }

    [Fact]
    public async Task A_wrong_password_exits_two_and_never_prints_the_password()
    {
        Assert.SkipUnless(postgres.Cluster.CanRestart, "Needs the throwaway cluster, whose pg_hba.conf the test may change.");
        string database = await postgres.Cluster.CreateDatabaseAsync(Cancellation);

        Run run = await RunAsync(PasswordChecked(new NpgsqlConnectionStringBuilder(database).Database!), ["tenants", "list"]);
        AssertConfigurationError(run, $"cannot connect with ConnectionStrings:appdb");
        Assert.Contains($"password authentication failed for user \"{PasswordCheckedUser}\"", run.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_wrong_owner_password_exits_two_naming_the_owner_connection()
    {
        Assert.SkipUnless(postgres.Cluster.CanRestart, "Needs the throwaway cluster, whose pg_hba.conf the test may change.");
        string database = await postgres.Cluster.CreateDatabaseAsync(Cancellation);

        Run run = await RunAsync(database, ["tenants", "add", "never_added"], ("ConnectionStrings__appdb-owner", PasswordChecked(new NpgsqlConnectionStringBuilder(database).Database!)));
        AssertConfigurationError(run, "cannot connect with ConnectionStrings:appdb-owner");
        await using var connection = new NpgsqlConnection(database);
        await connection.OpenAsync(Cancellation);
        await using var catalog = new NpgsqlCommand("SELECT count(*) FROM pg_namespace WHERE nspname = 'never_added'", connection);
        Assert.Equal(0L, await catalog.ExecuteScalarAsync(Cancellation));
    }

    private static void AssertConfigurationError(Run run, string expected)
    {
        Assert.True(run.Exit == 2, $"exit {run.Exit}:\n{run.Output}\n{run.Error}");
        Assert.Equal(string.Empty, run.Output);
        string line = Assert.Single(run.ErrorLines);
        Assert.StartsWith("tenants: ", line, StringComparison.Ordinal);
        Assert.Contains(expected, line, StringComparison.Ordinal);
        Assert.DoesNotContain(Password, run.Error, StringComparison.Ordinal);
    }

    private string PasswordChecked(string database) =>
        new NpgsqlConnectionStringBuilder(postgres.Cluster.AdminConnectionString) { Username = PasswordCheckedUser, Password = Password, Database = database }.ConnectionString;

    private static async Task<string?> LoginErrorAsync(string connectionString)
    {
        try
        {
            await using var connection = new NpgsqlConnection(connectionString);
            await connection.OpenAsync(Cancellation);
            return null;
        }
        catch (PostgresException e)
        {
            return e.SqlState;
        }
    }

    private async Task<object?> AdminScalarAsync(string sql)
    {
        await using var connection = new NpgsqlConnection(postgres.Cluster.AdminConnectionString);
        await connection.OpenAsync(Cancellation);
        await using var command = new NpgsqlCommand(sql, connection);
        return await command.ExecuteScalarAsync(Cancellation);
    }
}
