using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Npgsql;
using Tenants.Shared;
using Tenants.Shared.Catalog;
using Tenants.Shared.Security;
using static Saas.Worker.Tests.WorkerCommandLine;

namespace Saas.Worker.Tests;

/// <summary>
/// <c>tenants add | deactivate | reactivate | delete | plan</c> as a process: the catalog, the schema and the tenant's role end
/// as README.md's "When a tenant leaves" says the Api leaves them. Tenant names are this class's own: roles are cluster-wide.
/// </summary>
public sealed class CommandLineLifecycleTests(PostgresFixture postgres) : IAsyncLifetime
{
    private string _database = string.Empty;
    private ServiceProvider? _core;

    private static CancellationToken Cancellation => TestContext.Current.CancellationToken;

    private ITenantCatalog Catalog => _core!.GetRequiredService<ITenantCatalog>();

    private TenancyOptions Options => _core!.GetRequiredService<IOptions<TenancyOptions>>().Value;

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
    public async Task Add_registers_and_migrates_and_list_json_shows_the_tenant_ready()
    {
        Run add = await RunAsync(_database, ["tenants", "add", "life_added", "--display-name", "Added Corp"]);
        Assert.True(add.Exit == 0, add.Error);
        Assert.Equal($"life_added added: ready at {AppMigrations.Latest ?? "(no migrations)"}, active", add.Output.Trim());
        Assert.True(await SchemaExistsAsync("life_added"));

        Run list = await RunAsync(_database, ["tenants", "list", "--json"]);
        Assert.Equal(0, list.Exit);
        using var json = JsonDocument.Parse(list.Output);
        JsonElement tenant = Assert.Single(json.RootElement.EnumerateArray());
        Assert.Equal("life_added", tenant.GetProperty("name").GetString());
        Assert.Equal("Added Corp", tenant.GetProperty("displayName").GetString());
        Assert.Equal("ready", tenant.GetProperty("state").GetString());
        Assert.Equal("active", tenant.GetProperty("status").GetString());
        Assert.Equal(AppMigrations.Latest, tenant.GetProperty("lastMigration").GetString());
        Assert.Equal(JsonValueKind.Null, tenant.GetProperty("lastError").ValueKind);
        Assert.Equal(JsonValueKind.Null, tenant.GetProperty("archivedAs").ValueKind);
        Assert.Equal(JsonValueKind.Null, tenant.GetProperty("node").ValueKind); // one server, no Citus
        Assert.True(tenant.GetProperty("registeredAt").TryGetDateTimeOffset(out _));

        // Idempotent for the same details, as POST /tenants answers 200; other details are a conflict, changing nothing.
        Run again = await RunAsync(_database, ["tenants", "add", "life_added", "--display-name", "Added Corp"]);
        Assert.Equal(0, again.Exit);
        Assert.Contains("already registered", again.Output, StringComparison.Ordinal);
        Run conflict = await RunAsync(_database, ["tenants", "add", "life_added", "--display-name", "Someone Else"]);
        Assert.Equal(1, conflict.Exit);
        Assert.Contains("another display name", Assert.Single(conflict.ErrorLines), StringComparison.Ordinal);
        Assert.Equal("Added Corp", (await Catalog.FindAsync("life_added", Cancellation))!.DisplayName);
    }

    [Fact]
    public async Task Deactivate_reactivate_and_delete_leave_the_catalog_as_the_api_does()
    {
        Assert.Equal(0, (await RunAsync(_database, ["tenants", "add", "life_leaving"])).Exit);
        Assert.True(await RoleExistsAsync("life_leaving"));

        // An active tenant is refused, as DELETE answers 409 tenant-active: nothing changes.
        Run refused = await RunAsync(_database, ["tenants", "delete", "life_leaving"]);
        Assert.Equal(1, refused.Exit);
        Assert.Contains("life_leaving is active: deactivate it first", Assert.Single(refused.ErrorLines), StringComparison.Ordinal);
        Assert.Equal(TenantStatus.Active, (await Catalog.FindAsync("life_leaving", Cancellation))!.Status);
        Assert.True(await SchemaExistsAsync("life_leaving"));

        Assert.Equal(0, (await RunAsync(_database, ["tenants", "deactivate", "life_leaving"])).Exit);
        Assert.Equal(TenantStatus.Deactivated, (await Catalog.FindAsync("life_leaving", Cancellation))!.Status);
        Assert.Equal(0, (await RunAsync(_database, ["tenants", "reactivate", "life_leaving"])).Exit);
        Assert.Equal(TenantStatus.Active, (await Catalog.FindAsync("life_leaving", Cancellation))!.Status);
        Assert.Equal(0, (await RunAsync(_database, ["tenants", "deactivate", "life_leaving"])).Exit);
        Assert.True(await SchemaExistsAsync("life_leaving")); // deactivating keeps the data

        // Deleted: the schema archived under a name no tenant can have, the role gone, the row kept with the name retired.
        Run deleted = await RunAsync(_database, ["tenants", "delete", "life_leaving"]);
        Assert.Equal(0, deleted.Exit);
        TenantRecord row = (await Catalog.FindAsync("life_leaving", Cancellation))!;
        Assert.Equal(TenantStatus.Deleted, row.Status);
        Assert.Matches("^archived~[0-9T]+~life_leaving$", row.ArchivedAs);
        Assert.Contains($"schema archived as {row.ArchivedAs}", deleted.Output, StringComparison.Ordinal);
        Assert.False(await SchemaExistsAsync("life_leaving"));
        Assert.True(await SchemaExistsAsync(row.ArchivedAs!));
        Assert.False(await RoleExistsAsync("life_leaving"));

        Run retired = await RunAsync(_database, ["tenants", "add", "life_leaving"]);
        Assert.Equal(1, retired.Exit);
        Assert.Contains("belonged to a deleted tenant", Assert.Single(retired.ErrorLines), StringComparison.Ordinal);
        Run reactivated = await RunAsync(_database, ["tenants", "reactivate", "life_leaving"]);
        Assert.Equal(1, reactivated.Exit);
        Assert.Equal(TenantStatus.Deleted, (await Catalog.FindAsync("life_leaving", Cancellation))!.Status);

        // Releasing the name removes the row (the archive stays), and the name can be registered again.
        Run released = await RunAsync(_database, ["tenants", "delete", "life_leaving", "--release-name"]);
        Assert.Equal(0, released.Exit);
        Assert.Contains("name released", released.Output, StringComparison.Ordinal);
        Assert.Null(await Catalog.FindAsync("life_leaving", Cancellation));
        Assert.True(await SchemaExistsAsync(row.ArchivedAs!));
        Assert.Equal(0, (await RunAsync(_database, ["tenants", "add", "life_leaving"])).Exit);
    }

    [Fact]
    public async Task Plan_puts_a_tenant_on_a_configured_plan_and_an_unknown_plan_exits_two_changing_nothing()
    {
        Assert.Equal(0, (await RunAsync(_database, ["tenants", "add", "life_planned"])).Exit);
        (string, string?) pro = ("Tenancy__Plans__pro__Burst", "1000");

        Run moved = await RunAsync(_database, ["tenants", "plan", "life_planned", "pro"], pro);
        Assert.True(moved.Exit == 0, moved.Error);
        Assert.Equal("life_planned is on plan pro", moved.Output.Trim());
        Assert.Equal("pro", (await Catalog.FindAsync("life_planned", Cancellation))!.Plan);

        Run unknown = await RunAsync(_database, ["tenants", "plan", "life_planned", "platinum"], pro);
        Assert.Equal(2, unknown.Exit);
        Assert.Contains("platinum", unknown.Error, StringComparison.Ordinal);
        Assert.Single(unknown.ErrorLines);
        Assert.Equal("pro", (await Catalog.FindAsync("life_planned", Cancellation))!.Plan);

        Run back = await RunAsync(_database, ["tenants", "plan", "life_planned"]);
        Assert.True(back.Exit == 0, back.Error);
        Assert.Equal("life_planned is on plan standard", back.Output.Trim());
        Assert.Null((await Catalog.FindAsync("life_planned", Cancellation))!.Plan);
    }

    [Fact]
    public async Task Delete_with_drop_drops_the_schema_and_an_unknown_tenant_exits_one()
    {
        Assert.Equal(0, (await RunAsync(_database, ["tenants", "add", "life_dropped"])).Exit);
        Assert.Equal(0, (await RunAsync(_database, ["tenants", "deactivate", "life_dropped"])).Exit);

        Run dropped = await RunAsync(_database, ["tenants", "delete", "life_dropped", "--drop"]);
        Assert.Equal(0, dropped.Exit);
        Assert.Contains("schema dropped", dropped.Output, StringComparison.Ordinal);
        TenantRecord row = (await Catalog.FindAsync("life_dropped", Cancellation))!;
        Assert.Equal(TenantStatus.Deleted, row.Status);
        Assert.Null(row.ArchivedAs);
        Assert.False(await SchemaExistsAsync("life_dropped"));
        Assert.False(await RoleExistsAsync("life_dropped"));

        foreach (string command in (string[])["deactivate", "reactivate", "delete"])
        {
            Run unknown = await RunAsync(_database, ["tenants", command, "life_nobody"]);
            Assert.Equal(1, unknown.Exit);
            Assert.Equal("tenants: no tenant named life_nobody.", Assert.Single(unknown.ErrorLines));
        }
    }

    [Fact]
    public async Task Add_of_a_name_whose_schema_exists_but_is_no_tenants_exits_one_and_leaves_that_schema_alone()
    {
        await using (var connection = new NpgsqlConnection(_database))
        {
            await connection.OpenAsync(Cancellation);
            await using var audit = new NpgsqlCommand("CREATE SCHEMA life_audit; CREATE TABLE life_audit.trail (x int); INSERT INTO life_audit.trail VALUES (1)", connection);
            await audit.ExecuteNonQueryAsync(Cancellation);
        }

        Run refused = await RunAsync(_database, ["tenants", "add", "life_audit"]);
        Assert.Equal(1, refused.Exit);
        string error = Assert.Single(refused.ErrorLines);
        Assert.Contains("Schema 'life_audit' already exists and was not created for a tenant", error, StringComparison.Ordinal);
        Assert.EndsWith("Nothing changed.", error, StringComparison.Ordinal);
        Assert.Null(await Catalog.FindAsync("life_audit", Cancellation));
        Assert.False(await RoleExistsAsync("life_audit"));
        Assert.Equal(1, await ScalarAsync("SELECT count(*) FROM life_audit.trail WHERE x::text = $1", "1"));
    }

    [Fact]
    public async Task Move_on_a_single_server_exits_one_saying_there_is_no_citus_and_a_malformed_node_exits_two()
    {
        Assert.Equal(0, (await RunAsync(_database, ["tenants", "add", "life_single"])).Exit);

        Run move = await RunAsync(_database, ["tenants", "move", "life_single", "--to", "127.0.0.1:5432"]);
        Assert.Equal(1, move.Exit);
        Assert.Contains("no Citus", Assert.Single(move.ErrorLines), StringComparison.Ordinal);

        Run malformed = await RunAsync(_database, ["tenants", "move", "life_single", "--to", "somewhere"]);
        Assert.Equal(2, malformed.Exit);
        Assert.Contains("HOST:PORT", Assert.Single(malformed.ErrorLines), StringComparison.Ordinal);
    }

    private async Task<bool> SchemaExistsAsync(string schema) =>
        await ScalarAsync("SELECT count(*) FROM pg_namespace WHERE nspname = $1", schema) > 0;

    private async Task<bool> RoleExistsAsync(string tenant) =>
        await ScalarAsync("SELECT count(*) FROM pg_roles WHERE rolname = $1", TenantRoleNames.NameFor(tenant, Options.TenantRolePrefix)) > 0;

    private async Task<long> ScalarAsync(string sql, string argument)
    {
        await using var connection = new NpgsqlConnection(_database);
        await connection.OpenAsync(Cancellation);
        await using var command = new NpgsqlCommand(sql, connection);
        command.Parameters.Add(new NpgsqlParameter { Value = argument });
        return (long)(await command.ExecuteScalarAsync(Cancellation))!;
    }
}
