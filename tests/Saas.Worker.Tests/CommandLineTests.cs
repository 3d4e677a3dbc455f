using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Npgsql;
using Tenants.Shared;
using Tenants.Shared.Catalog;
using static Saas.Worker.Tests.WorkerCommandLine;

namespace Saas.Worker.Tests;

/// <summary>The operators' command line, run as the real program: the Worker's `tenants ...`, its help, usage errors and migrate.</summary>
public sealed class CommandLineTests(PostgresFixture postgres) : IAsyncLifetime
{
    private string _database = string.Empty;
    private ServiceProvider? _core;

    private static CancellationToken Cancellation => TestContext.Current.CancellationToken;

    private ITenantCatalog Catalog => _core!.GetRequiredService<ITenantCatalog>();

    public async ValueTask InitializeAsync()
    {
        _database = await postgres.Cluster.CreateDatabaseAsync(Cancellation);
        _core = new ServiceCollection().AddTenancy(_database, WorkerSettings.Apply).BuildServiceProvider();
    }

    public async ValueTask DisposeAsync()
    {
        if (_core is not null)
        {
            await _core.DisposeAsync();
        }
    }

    /// <summary>Each command's help, and what it must name. Help needs no database: none is given.</summary>
    public static TheoryData<string[], string[]> Helps => new()
    {
        { ["tenants", "--help"], ["list", "status", "add <NAME>", "migrate", "deactivate <NAME>", "reactivate <NAME>", "delete <NAME>", "Exit codes: 0"] },
        { ["tenants", "list", "--help"], ["tenants list [options]", "--json"] },
        { ["tenants", "status", "--help"], ["tenants status [options]", "--json"] },
        { ["tenants", "add", "--help"], ["tenants add <NAME> [options]", "--display-name <TEXT>"] },
        { ["tenants", "migrate", "--help"], ["tenants migrate [options]", "--tenant <NAME>"] },
        { ["tenants", "deactivate", "--help"], ["tenants deactivate <NAME> [options]"] },
        { ["tenants", "reactivate", "--help"], ["tenants reactivate <NAME> [options]"] },
        { ["tenants", "delete", "--help"], ["tenants delete <NAME> [options]", "--drop", "--release-name"] },
    };

    [Theory]
    [MemberData(nameof(Helps))]
    public async Task Help_exits_zero_and_names_the_commands_and_options(string[] args, string[] expected)
    {
        Run run = await RunAsync(null, args);
        Assert.Equal(0, run.Exit);
        Assert.Equal(string.Empty, run.Error);
        Assert.All(expected, e => Assert.Contains(e, run.Output, StringComparison.Ordinal));
    }

    /// <summary>Usage errors caught before any database is asked: none is given.</summary>
    public static TheoryData<string[], string> UsageErrors => new()
    {
        { ["tenants"], "Required command was not provided" },
        { ["tenants", "frobnicate"], "'frobnicate'" },
        { ["tenants", "add"], "Required argument 'NAME' missing" },
        { ["tenants", "add", "a", "b"], "'b'" },
        { ["tenants", "migrate", "--tenant"], "--tenant" },
        { ["tenants", "list", "--jsn"], "'--jsn'" },
        { ["tenants", "delete", "acme", "--drop=maybe"], "maybe" },
    };

    [Theory]
    [MemberData(nameof(UsageErrors))]
    public async Task A_usage_error_exits_two_with_one_line_on_stderr(string[] args, string expected)
    {
        Run run = await RunAsync(null, args);
        Assert.Equal(2, run.Exit);
        Assert.Equal(string.Empty, run.Output);
        string line = Assert.Single(run.ErrorLines);
        Assert.Contains(expected, line, StringComparison.Ordinal);
        Assert.Contains("--help", line, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("add", "Bad")]
    [InlineData("deactivate", "pg_catalog")]
    [InlineData("migrate", "--tenant", "public")]
    public async Task An_invalid_tenant_name_is_a_usage_error(params string[] args)
    {
        Run run = await RunAsync(_database, ["tenants", .. args]);
        Assert.Equal(2, run.Exit);
        Assert.Contains("is not a tenant name", Assert.Single(run.ErrorLines), StringComparison.Ordinal);
        Assert.Empty(await Catalog.ListAsync(Cancellation));
    }

    [Fact]
    public async Task Migrate_reports_each_tenant_and_progress_and_exits_zero()
    {
        foreach (string t in (string[])["cli_a", "cli_b", "cli_c"])
        {
            await Catalog.CreateAsync(t, t, Cancellation);
        }

        Run run = await RunAsync(_database, ["tenants", "migrate"]);
        Assert.Equal(0, run.Exit);
        foreach (string t in (string[])["cli_a", "cli_b", "cli_c"])
        {
            AssertLine($@"(?m)^{t}\s+ok\s+{AppMigrations.Ids.Count}\s+1\s", run.Output);
            Assert.Equal(MigrationState.Ready, (await Catalog.FindAsync(t, Cancellation))!.State);
        }

        Assert.Contains($"3 ok, 0 failed, {3 * AppMigrations.Ids.Count} migration(s) applied", run.Output, StringComparison.Ordinal);
        Assert.Contains("migrated 3/3, failed 0", run.Error, StringComparison.Ordinal);

        Run again = await RunAsync(_database, ["tenants", "migrate"]);
        Assert.Equal(0, again.Exit);
        Assert.Contains("0 ok, 0 failed, 0 migration(s) applied, 3 registered", again.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_failed_tenant_exits_one_with_its_error_in_the_report_and_one_line_on_stderr()
    {
        await Catalog.CreateAsync("cli_ok", "ok", Cancellation);
        await Catalog.CreateAsync("cli_bad", "bad", Cancellation);
        await using (var connection = new NpgsqlConnection(_database))
        {
            await connection.OpenAsync(Cancellation);
            await using var sabotage = new NpgsqlCommand("CREATE SCHEMA cli_bad; COMMENT ON SCHEMA cli_bad IS 'tenant-saas: the schema of tenant cli_bad'; CREATE TABLE cli_bad.\"__EFMigrationsHistory\" (x int)", connection);
            await sabotage.ExecuteNonQueryAsync(Cancellation);
        }

        Run run = await RunAsync(_database, ["tenants", "migrate"]);
        Assert.Equal(1, run.Exit);
        AssertLine(@"(?m)^cli_bad\s+FAILED\s+0\s+3\s+\d+\s+.*MigrationId.*does not exist", run.Output);
        AssertLine(@"(?m)^cli_ok\s+ok\s", run.Output);
        string failure = Assert.Single(run.ErrorLines, l => !l.StartsWith("migrated ", StringComparison.Ordinal));
        Assert.Equal("tenants: 1 of 2 tenant(s) failed: cli_bad", failure);

        Run status = await RunAsync(_database, ["tenants", "status"]);
        Assert.Equal(0, status.Exit);
        Assert.Contains("failed: 1", status.Output, StringComparison.Ordinal);
        Assert.Contains("ready: 1", status.Output, StringComparison.Ordinal);
        Assert.Contains("failed cli_bad (attempts 3)", status.Output, StringComparison.Ordinal);

        Run json = await RunAsync(_database, ["tenants", "status", "--json"]);
        Assert.Equal(0, json.Exit);
        using var document = System.Text.Json.JsonDocument.Parse(json.Output);
        Assert.Equal(2, document.RootElement.GetProperty("registered").GetInt32());
        Assert.Equal(1, document.RootElement.GetProperty("ready").GetInt32());
        Assert.Equal(1, document.RootElement.GetProperty("failed").GetInt32());
        Assert.Equal(1, document.RootElement.GetProperty("behind").GetInt32());
        Assert.Empty(document.RootElement.GetProperty("nodes").EnumerateObject()); // one server: no Citus
        Assert.Equal(System.Text.Json.JsonValueKind.Null, document.RootElement.GetProperty("activity").ValueKind);
        System.Text.Json.JsonElement failed = Assert.Single(document.RootElement.GetProperty("failures").EnumerateArray());
        Assert.Equal("cli_bad", failed.GetProperty("name").GetString());
        Assert.Equal(3, failed.GetProperty("attempts").GetInt32());
        Assert.Contains("MigrationId", failed.GetProperty("lastError").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Migrate_one_tenant_and_list()
    {
        await Catalog.CreateAsync("only_me", "Only Me", Cancellation);
        await Catalog.CreateAsync("not_me", "Not Me", Cancellation);

        Run run = await RunAsync(_database, ["tenants", "migrate", "--tenant", "only_me"]);
        Assert.Equal(0, run.Exit);
        Assert.Contains("1 ok, 0 failed", run.Output, StringComparison.Ordinal);

        Run list = await RunAsync(_database, ["tenants", "list"]);
        AssertLine($@"(?m)^only_me\s+ready\s+active\s+{(AppMigrations.Latest ?? "-")}\s+Only Me$", list.Output);
        AssertLine(@"(?m)^not_me\s+pending\s+active\s+-\s+Not Me$", list.Output);
        Assert.Contains("2 tenant(s)", list.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Redirected_output_has_no_escape_codes_no_logs_and_no_host_lifecycle_lines()
    {
        await Catalog.CreateAsync("plain_a", "Plain A", Cancellation);
        await Catalog.CreateAsync("plain_b", "Plain B", Cancellation);

        Run migrate = await RunAsync(_database, ["tenants", "migrate"]);
        Run list = await RunAsync(_database, ["tenants", "list"]);
        Run status = await RunAsync(_database, ["tenants", "status", "--json"]);

        foreach (Run run in (Run[])[migrate, list, status])
        {
            Assert.Equal(0, run.Exit);
            Assert.DoesNotContain('\u001b', run.Output + run.Error);
            Assert.DoesNotContain("Application started", run.Output + run.Error, StringComparison.Ordinal);
            Assert.DoesNotMatch(@"(?m)^(trce|dbug|info|warn|fail|crit): ", run.Output + run.Error); // the Worker's appsettings.json logs at Information
        }

        // stderr carries the progress lines and nothing else; stdout the report, or JSON alone.
        Assert.All(migrate.ErrorLines, l => Assert.Matches(@"^migrated \d+/2, failed 0, \d+\.\d tenants/s$", l));
        Assert.Equal(string.Empty, list.Error + status.Error);
        using var json = System.Text.Json.JsonDocument.Parse(status.Output);
        Assert.Equal(2, json.RootElement.GetProperty("ready").GetInt32());
    }

    [Fact]
    public async Task On_a_terminal_migrate_draws_a_progress_bar_then_the_report()
    {
        await Catalog.CreateAsync("bar_a", "Bar A", Cancellation);

        Run run = await RunOnTerminalAsync(_database, ["tenants", "migrate"]);
        Assert.True(run.Exit == 0, run.Output);
        Assert.Contains("\u001b[", run.Output, StringComparison.Ordinal); // the bar redraws in place
        Assert.Contains("━", run.Output, StringComparison.Ordinal);
        AssertLine(@"(?m)^bar_a\s+ok\s", run.Output);
        Assert.DoesNotMatch(@"(?m)^migrated \d+/\d+, failed \d+, [\d.]+ tenants/s\r?$", run.Output); // no plain progress lines
    }

    [Fact]
    public async Task Ctrl_c_interrupts_a_waiting_migrate_with_exit_130_and_no_stack_trace()
    {
        await Catalog.CreateAsync("waiting", "Waiting", Cancellation);
        string catalogTable = $"{PgIdentifier.Quote(_core!.GetRequiredService<IOptions<TenancyOptions>>().Value.SharedSchema)}.tenants";
        await using var blocker = new NpgsqlConnection(_database);
        await blocker.OpenAsync(Cancellation);
        await using NpgsqlTransaction transaction = await blocker.BeginTransactionAsync(Cancellation);
        await using (var lockCatalog = new NpgsqlCommand($"LOCK TABLE {catalogTable} IN ACCESS EXCLUSIVE MODE", blocker, transaction))
        {
            await lockCatalog.ExecuteNonQueryAsync(Cancellation);
        }

        // Interrupted while it waits for the catalog: another session is waiting on a lock in this database. Its
        // commands wait without a timeout, so that only the interrupt ends the wait, however slow the machine.
        Run run = await InterruptAsync($"{_database};Command Timeout=0", ["tenants", "migrate"], async () =>
        {
            await using var watcher = new NpgsqlConnection(_database);
            await watcher.OpenAsync(Cancellation);
            await using var waiting = new NpgsqlCommand("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'", watcher);
            return (long)(await waiting.ExecuteScalarAsync(Cancellation))! > 0;
        });
        await transaction.RollbackAsync(Cancellation);

        Assert.Equal(130, run.Exit);
        Assert.True(run.ErrorLines.Length <= 1 && !run.Error.Contains("   at ", StringComparison.Ordinal), run.Error);
        Assert.Equal(MigrationState.Pending, (await Catalog.FindAsync("waiting", Cancellation))!.State);
    }

    [Fact]
    public async Task Through_a_transaction_mode_pooler_the_command_line_refuses_to_run_and_migrates_nothing()
    {
        await Catalog.CreateAsync("cli_pooled", "pooled", Cancellation);
        await using PgBouncer bouncer = await PgBouncer.StartAsync(_database, "transaction", Cancellation);

        Run run = await RunAsync(bouncer.ConnectionString, ["tenants", "migrate"]);
        Assert.Equal(2, run.Exit);
        Assert.Contains("transaction or statement mode", Assert.Single(run.ErrorLines), StringComparison.Ordinal);
        Assert.DoesNotContain("cli_pooled", run.Output, StringComparison.Ordinal);
        Assert.Equal(MigrationState.Pending, (await Catalog.FindAsync("cli_pooled", Cancellation))!.State);
    }

    /// <summary>Like Assert.Matches, but a failure shows the whole output (the report is a table).</summary>
    private static void AssertLine(string pattern, string output) =>
        Assert.True(System.Text.RegularExpressions.Regex.IsMatch(output, pattern), $"no line matches {pattern} in:\n{output}");
}
