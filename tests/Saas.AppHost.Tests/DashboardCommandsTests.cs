using System.Net;
using System.Net.Http.Json;
using Aspire.Hosting;
using Aspire.Hosting.ApplicationModel;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;
using Postgres.Testing;

namespace Saas.AppHost.Tests;

/// <summary>
/// The Worker's dashboard commands, run as the dashboard runs them (the AppHost's command service, the dialog's
/// arguments by name) against the running app, each checked in the database afterwards.
/// </summary>
public sealed class DashboardCommandsTests(AppFixture fixture)
{
    private static CancellationToken Cancellation => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Add_deactivate_and_reactivate_leave_the_catalog_as_the_Api_does_and_bad_input_changes_nothing()
    {
        using HttpClient admin = await fixture.ApiClientAsync(tenant: null, Cancellation);
        await admin.AddTenantAsync("hooli", "Hooli", Cancellation);

        ExecuteCommandResult added = await RunAsync(TenantCommands.Add, ("umbrella", "Umbrella Corp"));
        Assert.True(added.Success, added.Message);
        Assert.StartsWith("umbrella added: ready at ", added.Message, StringComparison.Ordinal);
        Tenant umbrella = (await FindAsync("umbrella"))!;
        Tenant hooli = (await FindAsync("hooli"))!;
        Assert.Equal(("Umbrella Corp", "ready", "active", null), (umbrella.DisplayName, umbrella.State, umbrella.Status, umbrella.LastError));
        Assert.Equal(hooli with { Name = "umbrella", DisplayName = "Umbrella Corp" }, umbrella);
        Assert.True(await SchemaUsableByItsRoleAsync("umbrella"), "umbrella's schema or role is missing");

        // Refused in the dialog: nothing changes, and the error says why.
        ExecuteCommandResult badName = await RunAsync(TenantCommands.Add, ("Umbrella-2", "Umbrella Two"));
        Assert.False(badName.Success);
        Assert.Equal("'Umbrella-2' is not a tenant name: A tenant name starts with a lowercase ASCII letter (a-z).", badName.Message);
        ExecuteCommandResult otherDisplayName = await RunAsync(TenantCommands.Add, ("umbrella", "Someone Else"));
        Assert.False(otherDisplayName.Success);
        Assert.Contains("exists with another display name ('Umbrella Corp'): nothing changed", otherDisplayName.Message, StringComparison.Ordinal);
        ExecuteCommandResult unknown = await RunAsync(TenantCommands.Deactivate, ("nobody_here", null));
        Assert.False(unknown.Success);
        Assert.Equal("no tenant named nobody_here.", unknown.Message);
        Assert.Equal(umbrella, await FindAsync("umbrella"));
        Assert.Null(await FindAsync("nobody_here"));
        Assert.False(await SchemaExistsAsync("Umbrella-2"));

        ExecuteCommandResult deactivated = await RunAsync(TenantCommands.Deactivate, ("umbrella", null));
        Assert.True(deactivated.Success, deactivated.Message);
        Assert.StartsWith("umbrella deactivated", deactivated.Message, StringComparison.Ordinal);
        await ThroughApiAsync(admin, "/tenants/hooli/deactivate", "hooli", "deactivated");
        Assert.Equal("deactivated", (await FindAsync("umbrella"))!.Status);
        Assert.Equal((await FindAsync("hooli"))! with { Name = "umbrella", DisplayName = "Umbrella Corp" }, await FindAsync("umbrella"));

        ExecuteCommandResult reactivated = await RunAsync(TenantCommands.Reactivate, ("umbrella", null));
        Assert.True(reactivated.Success, reactivated.Message);
        Assert.Equal("umbrella reactivated", reactivated.Message);
        await ThroughApiAsync(admin, "/tenants/hooli/reactivate", "hooli", "active");
        Assert.Equal(umbrella, await FindAsync("umbrella"));
        Assert.Equal((await FindAsync("hooli"))! with { Name = "umbrella", DisplayName = "Umbrella Corp" }, await FindAsync("umbrella"));
    }

    [Fact]
    public async Task Status_and_migrate_report_a_failed_tenant_with_its_error_and_migrate_repairs_it()
    {
        // A role of the tenant role's name that the migrator did not create: the tenant's migration fails, naming it.
        await ExecuteAsync("CREATE ROLE tenant_wayne NOLOGIN");
        try
        {
            ExecuteCommandResult added = await RunAsync(TenantCommands.Add, ("wayne", "Wayne Enterprises"));
            Assert.False(added.Success);
            Assert.StartsWith("wayne is registered but not ready (failed): ", added.Message, StringComparison.Ordinal);
            Assert.Contains("tenant_wayne", added.Message, StringComparison.Ordinal);
            Assert.Equal("failed", (await FindAsync("wayne"))!.State);

            ExecuteCommandResult status = await RunAsync(TenantCommands.Status);
            Assert.True(status.Success, status.Message);
            string report = status.Data!.Value;
            Assert.Contains("failed: 1", status.Message, StringComparison.Ordinal);
            Assert.Contains("registered: ", report, StringComparison.Ordinal);
            Assert.Contains("ready: ", report, StringComparison.Ordinal);
            string failure = Assert.Single(report.Split('\n'), l => l.TrimStart().StartsWith("failed wayne ", StringComparison.Ordinal));
            Assert.Contains((await FindAsync("wayne"))!.LastError!, failure, StringComparison.Ordinal);

            ExecuteCommandResult stillFailing = await RunAsync(TenantCommands.Migrate);
            Assert.False(stillFailing.Success);
            Assert.StartsWith("1 of ", stillFailing.Message, StringComparison.Ordinal);
            Assert.EndsWith("tenant(s) failed: wayne", stillFailing.Message, StringComparison.Ordinal);
            Assert.Contains(stillFailing.Data!.Value.Split('\n'), l => l.StartsWith("wayne ", StringComparison.Ordinal) && l.Contains("FAILED", StringComparison.Ordinal));
        }
        finally
        {
            await ExecuteAsync("DROP ROLE IF EXISTS tenant_wayne");
        }

        ExecuteCommandResult migrated = await RunAsync(TenantCommands.Migrate);
        Assert.True(migrated.Success, migrated.Message);
        Assert.Contains(" ok, 0 failed, ", migrated.Message, StringComparison.Ordinal);
        Assert.Equal(("ready", null), ((await FindAsync("wayne"))!.State, (await FindAsync("wayne"))!.LastError));
        Assert.True(await SchemaUsableByItsRoleAsync("wayne"), "wayne's schema or role is missing");
        ExecuteCommandResult healthy = await RunAsync(TenantCommands.Status);
        Assert.Contains("failed: 0", healthy.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Change_plan_puts_a_tenant_on_a_plan_and_back_to_the_default_and_an_unknown_plan_changes_nothing()
    {
        using HttpClient admin = await fixture.ApiClientAsync(tenant: null, Cancellation);
        await admin.AddTenantAsync("cyberdyne", "Cyberdyne", Cancellation);

        Assert.Null((await FindAsync("cyberdyne"))!.Plan);

        ExecuteCommandResult named = await RunAsync(TenantCommands.Plan, ("cyberdyne", null), plan: "standard");
        Assert.True(named.Success, named.Message);
        Assert.Equal("cyberdyne is on plan standard", named.Message);
        Tenant onStandard = (await FindAsync("cyberdyne"))!;
        Assert.Equal("standard", onStandard.Plan);

        // Refused with the command line's one line: the plan stays.
        ExecuteCommandResult unknown = await RunAsync(TenantCommands.Plan, ("cyberdyne", null), plan: "platinum");
        Assert.False(unknown.Success);
        Assert.StartsWith("No plan named 'platinum'; the plans are: standard.", unknown.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("\n", unknown.Message, StringComparison.Ordinal);
        Assert.Equal(onStandard, await FindAsync("cyberdyne"));

        // The plan field emptied: back to the default plan, which the catalog names as none.
        ExecuteCommandResult back = await RunAsync(TenantCommands.Plan, ("cyberdyne", null), plan: string.Empty);
        Assert.True(back.Success, back.Message);
        Assert.Equal("cyberdyne is on plan standard", back.Message);
        Assert.Null((await FindAsync("cyberdyne"))!.Plan);
    }

    [Fact]
    public async Task The_dashboard_shows_the_tenant_commands_in_the_Workers_actions_menu_enabled()
    {
        IResource worker = fixture.App.Services.GetRequiredService<DistributedApplicationModel>().Resources.Single(r => r.Name == "worker");
        string[] commands = [.. worker.Annotations.OfType<ResourceCommandAnnotation>()
            .Where(c => c.Name is TenantCommands.Add or TenantCommands.Migrate or TenantCommands.Status or TenantCommands.Deactivate or TenantCommands.Reactivate or TenantCommands.Plan)
            .Select(c => c.DisplayName)];
        Assert.Equal(6, commands.Length);

        // A real browser on the dashboard's resources page, the Worker's actions menu open.
        string screenshot = Path.Combine(AppContext.BaseDirectory, "dashboard-commands.png");
        File.Delete(screenshot);
        (int exit, string output) = await Browser.RunScriptAsync(
            "dashboard-commands.mjs", [fixture.App.GetEndpoint("aspire-dashboard", "http").ToString(), "worker", screenshot, .. commands], Cancellation);
        Assert.True(exit == 0, $"{output} (what the browser saw: {screenshot})");
        Assert.True(new FileInfo(screenshot).Length > 20_000, "the screenshot is (nearly) empty");
        TestContext.Current.AddAttachment("dashboard-commands.png", await File.ReadAllBytesAsync(screenshot, Cancellation), "image/png");
    }

    /// <summary>A catalog row, as far as the Api and the command line must leave it alike.</summary>
    private sealed record Tenant(string Name, string DisplayName, string State, string Status, string? LastMigration, string? LastError, string? Plan);

    private Task<ExecuteCommandResult> RunAsync(string command, (string Name, string? DisplayName)? tenant = null, string? plan = null)
    {
        List<InteractionInput> arguments = [];
        if (tenant is { } t)
        {
            arguments.Add(new InteractionInput { Name = TenantCommands.NameArgument, InputType = InputType.Text, Value = t.Name });
            if (t.DisplayName is not null)
            {
                arguments.Add(new InteractionInput { Name = TenantCommands.DisplayNameArgument, InputType = InputType.Text, Value = t.DisplayName });
            }
        }

        if (plan is not null)
        {
            arguments.Add(new InteractionInput { Name = TenantCommands.PlanArgument, InputType = InputType.Text, Value = plan });
        }

        return fixture.App.Services.GetRequiredService<ResourceCommandService>()
            .ExecuteCommandAsync("worker", command, new InteractionInputCollection(arguments), Cancellation);
    }

    /// <summary>Deactivates or reactivates through the Api, waiting for the Worker when the Api answers 202.</summary>
    private async Task ThroughApiAsync(HttpClient admin, string path, string tenant, string status)
    {
        using (HttpResponseMessage response = await admin.PostAsync(path, content: null, Cancellation))
        {
            Assert.True(response.StatusCode is HttpStatusCode.OK or HttpStatusCode.Accepted, $"{path}: {response.StatusCode}");
        }

        await Eventually.UntilAsync(async () => (await FindAsync(tenant))?.Status == status, $"{tenant} to be {status}", Cancellation);
    }

    private async Task<Tenant?> FindAsync(string name)
    {
        await using NpgsqlConnection connection = await OpenAsync();
        await using var command = new NpgsqlCommand(
            $"SELECT name, display_name, state, status, last_migration, last_error, plan FROM {CatalogTable()} WHERE name = $1", connection);
        command.Parameters.Add(new NpgsqlParameter { Value = name });
        await using NpgsqlDataReader reader = await command.ExecuteReaderAsync(Cancellation);
        return await reader.ReadAsync(Cancellation)
            ? new Tenant(reader.GetString(0), reader.GetString(1), reader.GetString(2), reader.GetString(3), reader.IsDBNull(4) ? null : reader.GetString(4), reader.IsDBNull(5) ? null : reader.GetString(5), reader.IsDBNull(6) ? null : reader.GetString(6))
            : null;
    }

    /// <summary>The catalog, in the shared schema the Worker's settings name (a template option).</summary>
    private string CatalogTable()
    {
        string worker = Path.GetDirectoryName(fixture.App.Services.GetRequiredService<DistributedApplicationModel>().Resources
            .OfType<ProjectResource>().Single(r => r.Name == "worker").GetProjectMetadata().ProjectPath)!;
        string schema = new ConfigurationBuilder().AddJsonFile(Path.Combine(worker, "appsettings.json")).Build()["Tenancy:SharedSchema"] ?? "shared";
        return $"\"{schema}\".tenants";
    }

    private async Task<bool> SchemaExistsAsync(string schema)
    {
        await using NpgsqlConnection connection = await OpenAsync();
        await using var command = new NpgsqlCommand("SELECT count(*) FROM pg_namespace WHERE nspname = $1", connection);
        command.Parameters.Add(new NpgsqlParameter { Value = schema });
        return (long)(await command.ExecuteScalarAsync(Cancellation))! == 1;
    }

    /// <summary>The tenant's schema exists and its own role may use it, as the migrator grants.</summary>
    private async Task<bool> SchemaUsableByItsRoleAsync(string tenant)
    {
        await using NpgsqlConnection connection = await OpenAsync();
        await using var command = new NpgsqlCommand(
            "SELECT count(*) FROM pg_namespace n JOIN pg_roles r ON r.rolname = 'tenant_' || n.nspname WHERE n.nspname = $1 AND has_schema_privilege(r.oid, n.oid, 'USAGE')",
            connection);
        command.Parameters.Add(new NpgsqlParameter { Value = tenant });
        return (long)(await command.ExecuteScalarAsync(Cancellation))! == 1;
    }

    private async Task ExecuteAsync(string sql)
    {
        await using NpgsqlConnection connection = await OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        await command.ExecuteNonQueryAsync(Cancellation);
    }

    /// <summary>The server's owner, who sees every schema and role.</summary>
    private async Task<NpgsqlConnection> OpenAsync()
    {
        var connection = new NpgsqlConnection(await fixture.App.GetConnectionStringAsync("postgres", Cancellation));
        await connection.OpenAsync(Cancellation);
        return connection;
    }
}
