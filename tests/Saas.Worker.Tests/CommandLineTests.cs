using System.Diagnostics;
using System.Reflection;
using Microsoft.EntityFrameworkCore.Migrations;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;
using Saas.Data;
using Tenants.Shared;
using Tenants.Shared.Catalog;

namespace Saas.Worker.Tests;

/// <summary>The operators' command line, run as the real program: the Worker's `tenants ...`.</summary>
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

    [Fact]
    public async Task Migrate_reports_each_tenant_and_progress_and_exits_zero()
    {
        foreach (string t in (string[])["cli_a", "cli_b", "cli_c"])
        {
            await Catalog.CreateAsync(t, t, Cancellation);
        }

        (int exit, string output, string progress) = await RunAsync("tenants", "migrate");
        Assert.Equal(0, exit);
        foreach (string t in (string[])["cli_a", "cli_b", "cli_c"])
        {
            AssertLine($@"(?m)^{t}\s+ok\s+{Migrations.Count}\s+1\s", output);
            Assert.Equal(TenantState.Ready, (await Catalog.FindAsync(t, Cancellation))!.State);
        }

        Assert.Contains($"3 ok, 0 failed, {3 * Migrations.Count} migration(s) applied", output, StringComparison.Ordinal);
        Assert.Contains("migrated 3/3, failed 0", progress, StringComparison.Ordinal);

        (int again, string second, _) = await RunAsync("tenants", "migrate");
        Assert.Equal(0, again);
        Assert.Contains("0 ok, 0 failed, 0 migration(s) applied, 3 registered", second, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_failed_tenant_makes_the_exit_code_non_zero_and_is_reported_with_its_error()
    {
        await Catalog.CreateAsync("cli_ok", "ok", Cancellation);
        await Catalog.CreateAsync("cli_bad", "bad", Cancellation);
        await using (var connection = new NpgsqlConnection(_database))
        {
            await connection.OpenAsync(Cancellation);
            await using var sabotage = new NpgsqlCommand("CREATE SCHEMA cli_bad; COMMENT ON SCHEMA cli_bad IS 'tenant-saas: the schema of tenant cli_bad'; CREATE TABLE cli_bad.\"__EFMigrationsHistory\" (x int)", connection);
            await sabotage.ExecuteNonQueryAsync(Cancellation);
        }

        (int exit, string output, _) = await RunAsync("tenants", "migrate");
        Assert.Equal(1, exit);
        AssertLine(@"(?m)^cli_bad\s+FAILED\s+0\s+3\s+\d+\s+.*MigrationId.*does not exist", output);
        AssertLine(@"(?m)^cli_ok\s+ok\s", output);

        (int statusExit, string status, _) = await RunAsync("tenants", "status");
        Assert.Equal(0, statusExit);
        Assert.Contains("failed: 1", status, StringComparison.Ordinal);
        Assert.Contains("ready: 1", status, StringComparison.Ordinal);
        Assert.Contains("failed cli_bad (attempts 3)", status, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Migrate_one_tenant_and_list()
    {
        await Catalog.CreateAsync("only_me", "Only Me", Cancellation);
        await Catalog.CreateAsync("not_me", "Not Me", Cancellation);

        (int exit, string output, _) = await RunAsync("tenants", "migrate", "--tenant", "only_me");
        Assert.Equal(0, exit);
        Assert.Contains("1 ok, 0 failed", output, StringComparison.Ordinal);

        (_, string list, _) = await RunAsync("tenants", "list");
        AssertLine($@"(?m)^only_me\s+ready\s+active\s+{(Migrations.Count > 0 ? Migrations[^1] : "-")}\s+Only Me$", list);
        AssertLine(@"(?m)^not_me\s+pending\s+active\s+-\s+Not Me$", list);
        Assert.Contains("2 tenant(s)", list, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_usage_error_exits_two()
    {
        (int exit, _, string error) = await RunAsync("tenants", "frobnicate");
        Assert.Equal(2, exit);
        Assert.Contains("usage: tenants list", error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Through_a_transaction_mode_pooler_the_command_line_refuses_to_run_and_migrates_nothing()
    {
        await Catalog.CreateAsync("cli_pooled", "pooled", Cancellation);
        await using PgBouncer bouncer = await PgBouncer.StartAsync(_database, "transaction", Cancellation);

        (int exit, string output, string error) = await RunWithAsync(bouncer.ConnectionString, "tenants", "migrate");
        Assert.Equal(2, exit);
        Assert.Contains("transaction or statement mode", error, StringComparison.Ordinal);
        Assert.DoesNotContain("cli_pooled", output, StringComparison.Ordinal);
        Assert.Equal(TenantState.Pending, (await Catalog.FindAsync("cli_pooled", Cancellation))!.State);
    }

    /// <summary>The app's migrations, oldest first, as EF Core orders them (by id).</summary>
    private static IReadOnlyList<string> Migrations { get; } =
    [
        .. typeof(AppDbContext).Assembly.GetTypes()
            .Select(t => t.GetCustomAttribute<MigrationAttribute>()?.Id)
            .OfType<string>()
            .Order(StringComparer.Ordinal),
    ];

    /// <summary>Like Assert.Matches, but a failure shows the whole output (the report is a table).</summary>
    private static void AssertLine(string pattern, string output) =>
        Assert.True(System.Text.RegularExpressions.Regex.IsMatch(output, pattern), $"no line matches {pattern} in:\n{output}");

    private Task<(int Exit, string Output, string Error)> RunAsync(params string[] args) => RunWithAsync(_database, args);

    private static async Task<(int Exit, string Output, string Error)> RunWithAsync(string database, params string[] args)
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

        start.Environment["ConnectionStrings__appdb"] = database;
        start.Environment["Tenancy__Migrations__RetryDelay"] = "00:00:00.010";
        start.Environment["Logging__LogLevel__Default"] = "Warning";
        using Process process = Process.Start(start)!;
        Task<string> output = process.StandardOutput.ReadToEndAsync(Cancellation);
        Task<string> error = process.StandardError.ReadToEndAsync(Cancellation);
        await process.WaitForExitAsync(Cancellation);
        return (process.ExitCode, await output, await error);
    }
}
