using System.Net;
using System.Net.Http.Json;
using Npgsql;
using Saas.Api.Model;
using Tenants.Shared;

namespace Saas.Api.Tests;

/// <summary>
/// A tenant's way out through the operator endpoints: deactivate (410, data kept, reversible), then delete (schema
/// archived or dropped, catalog consistent, the name reusable only when released; the tenant's role gone either way,
/// and an archive out of every tenant role's reach). Each tenant holds a table of
/// rows written straight into its schema, so that "data kept" is checked in every template combination.
/// </summary>
public sealed class OffboardingTests(PostgresFixture postgres) : ApiTest(postgres)
{
    // Roles are cluster-wide and test databases share a cluster: a prefix of its own lets this test see its roles go.
    private readonly string _rolePrefix = $"o{Guid.NewGuid():N}"[..12] + "_";
    private HttpClient? _admin;

    private HttpClient Admin => _admin!;

    protected override IEnumerable<KeyValuePair<string, string?>> Settings => [new("Tenancy:TenantRolePrefix", _rolePrefix)];

    protected override bool SplitRoles => true;

    public override async ValueTask InitializeAsync()
    {
        await base.InitializeAsync();
        _admin = Api.Client(Api.Tokens.Admin());
        await Api.ProvisionAsync("leaving", "staying");
        await KeepRowsAsync("leaving", 3);
        await KeepRowsAsync("staying", 2);
    }

    public override async ValueTask DisposeAsync()
    {
        _admin?.Dispose();
        await base.DisposeAsync();
    }

    [Fact]
    public async Task Deactivated_tenants_get_410_and_keep_their_data_until_reactivated()
    {
        using HttpClient member = Api.Client(Api.Tokens.Member("leaving"));
        Assert.Equal(HttpStatusCode.OK, (await member.GetAsync("/tenant", Cancellation)).StatusCode); // served, and now cached

        TenantResponse deactivated = await ReadAsync<TenantResponse>(await Admin.PostAsync("/tenants/leaving/deactivate", null, Cancellation));
        Assert.Equal("deactivated", deactivated.Status);
        await AssertProblemAsync(await member.GetAsync("/tenant", Cancellation), 410, "tenant-deactivated");
        await AssertProblemAsync(await Admin.GetAsync("/t/leaving/tenant", Cancellation), 410, "tenant-deactivated");
        Assert.Equal(3, await KeptRowsAsync("leaving"));
        Assert.Equal("deactivated", (await Admin.GetFromJsonAsync<TenantResponse>("/tenants/leaving", Cancellation))!.Status);

        // Idempotent, and other tenants never notice.
        Assert.Equal("deactivated", (await ReadAsync<TenantResponse>(await Admin.PostAsync("/tenants/leaving/deactivate", null, Cancellation))).Status);
        using HttpClient other = Api.Client(Api.Tokens.Member("staying"));
        Assert.Equal(HttpStatusCode.OK, (await other.GetAsync("/tenant", Cancellation)).StatusCode);

        Assert.Equal("active", (await ReadAsync<TenantResponse>(await Admin.PostAsync("/tenants/leaving/reactivate", null, Cancellation))).Status);
        Assert.Equal("leaving", (await member.GetFromJsonAsync<CurrentTenantResponse>("/tenant", Cancellation))!.Schema);
        Assert.Equal(3, await KeptRowsAsync("leaving"));
    }

    [Fact]
    public async Task Delete_archives_by_default_and_keeps_the_name_until_it_is_released()
    {
        string role = (await Admin.GetFromJsonAsync<CurrentTenantResponse>("/t/leaving/tenant", Cancellation))!.Role;
        // An active tenant cannot be deleted in one step.
        await AssertProblemAsync(await Admin.DeleteAsync("/tenants/leaving", Cancellation), 409, "tenant-active");
        Assert.Contains("leaving", await Api.SchemasAsync());

        (await Admin.PostAsync("/tenants/leaving/deactivate", null, Cancellation)).EnsureSuccessStatusCode();
        TenantDeletionResponse deleted = await ReadAsync<TenantDeletionResponse>(await Admin.DeleteAsync("/tenants/leaving", Cancellation));
        Assert.False(deleted.NameReleased);
        string archive = Assert.IsType<string>(deleted.ArchivedAs);
        Assert.StartsWith("archived~", archive, StringComparison.Ordinal);
        HashSet<string> schemas = await Api.SchemasAsync();
        Assert.DoesNotContain("leaving", schemas);
        Assert.Contains(archive, schemas);
        Assert.Equal(3, await KeptRowsAsync(archive));
        await AssertArchiveUnreachableAsync(archive, role);

        // The catalog keeps a tombstone: requests are 410, the name is not taken again, other tenants are untouched.
        TenantResponse tombstone = (await Admin.GetFromJsonAsync<TenantResponse>("/tenants/leaving", Cancellation))!;
        Assert.Equal(("deleted", archive), (tombstone.Status, tombstone.ArchivedAs));
        await AssertProblemAsync(await Admin.GetAsync("/t/leaving/tenant", Cancellation), 410, "tenant-deleted");
        await AssertProblemAsync(await Admin.PostAsJsonAsync("/tenants", new CreateTenantRequest("leaving", "Leaving again"), Cancellation), 409, "tenant-name-retired");
        await AssertProblemAsync(await Admin.PostAsync("/tenants/leaving/reactivate", null, Cancellation), 409, "tenant-deleted");
        Assert.DoesNotContain("leaving", await Api.SchemasAsync());
        Assert.Equal(2, await KeptRowsAsync("staying"));

        // Released later: the row goes, the archive stays, and the name makes a new, empty tenant.
        TenantDeletionResponse released = await ReadAsync<TenantDeletionResponse>(await Admin.DeleteAsync("/tenants/leaving?releaseName=true", Cancellation));
        Assert.Equal((true, archive), (released.NameReleased, released.ArchivedAs));
        Assert.Equal(HttpStatusCode.NotFound, (await Admin.GetAsync("/tenants/leaving", Cancellation)).StatusCode);
        await AssertProblemAsync(await Admin.GetAsync("/t/leaving/tenant", Cancellation), 404, "tenant-not-found");
        Assert.Equal(HttpStatusCode.Created, (await Admin.PostAsJsonAsync("/tenants", new CreateTenantRequest("leaving", "Leaving again"), Cancellation)).StatusCode);
        Assert.Equal("leaving", (await Admin.GetFromJsonAsync<CurrentTenantResponse>("/t/leaving/tenant", Cancellation))!.Schema);
        Assert.False(await TableExistsAsync("leaving", "kept"));
        Assert.Equal(3, await KeptRowsAsync(archive));
    }

    [Fact]
    public async Task Delete_with_drop_and_release_leaves_no_schema_no_row_and_no_role()
    {
        string role = (await Admin.GetFromJsonAsync<CurrentTenantResponse>("/t/leaving/tenant", Cancellation))!.Role;
        Assert.Equal(_rolePrefix + "leaving", role); // tenant roles are on in the Api

        (await Admin.PostAsync("/tenants/leaving/deactivate", null, Cancellation)).EnsureSuccessStatusCode();
        TenantDeletionResponse dropped = await ReadAsync<TenantDeletionResponse>(await Admin.DeleteAsync("/tenants/leaving?schema=drop&releaseName=true", Cancellation));
        Assert.Equal((null, true), (dropped.ArchivedAs, dropped.NameReleased));
        HashSet<string> schemas = await Api.SchemasAsync();
        Assert.DoesNotContain("leaving", schemas);
        Assert.DoesNotContain(schemas, s => s.StartsWith("archived~", StringComparison.Ordinal));
        Assert.Equal(0L, await ScalarAsync<long>("SELECT count(*) FROM pg_roles WHERE rolname = $1", role));
        Assert.DoesNotContain((await Admin.GetFromJsonAsync<List<TenantResponse>>("/tenants", Cancellation))!, t => t.Name == "leaving");
        Assert.Equal(2, await KeptRowsAsync("staying"));
    }

    [Fact]
    public async Task Bad_offboarding_requests_are_problems_and_change_nothing()
    {
        await AssertProblemAsync(await Admin.DeleteAsync("/tenants/leaving?schema=shred", Cancellation), 400);
        await AssertProblemAsync(await Admin.PostAsync("/tenants/Leaving/deactivate", null, Cancellation), 400);
        await AssertProblemAsync(await Admin.DeleteAsync("/tenants/pg_catalog", Cancellation), 400);
        Assert.Equal(HttpStatusCode.NotFound, (await Admin.PostAsync("/tenants/nobody/deactivate", null, Cancellation)).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await Admin.DeleteAsync("/tenants/nobody", Cancellation)).StatusCode);

        // Members are not operators.
        using HttpClient member = Api.Client(Api.Tokens.Member("leaving"));
        Assert.Equal(HttpStatusCode.Forbidden, (await member.PostAsync("/tenants/leaving/deactivate", null, Cancellation)).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await member.DeleteAsync("/tenants/leaving", Cancellation)).StatusCode);

        Assert.Equal("active", (await Admin.GetFromJsonAsync<TenantResponse>("/tenants/leaving", Cancellation))!.Status);
        Assert.Equal(3, await KeptRowsAsync("leaving"));
        Assert.DoesNotContain(await Api.SchemasAsync(), s => s.StartsWith("archived~", StringComparison.Ordinal));
    }

    /// <summary>
    /// The archived tenant's role is gone, and the archive grants nothing to anyone but its owner: neither the app's role
    /// nor any tenant role (the app switches to those) may look into it; the app's own login is refused its rows.
    /// </summary>
    private async Task AssertArchiveUnreachableAsync(string archive, string role)
    {
        Assert.Equal(0L, await SchemaGrants.ToOthersThanOwnerAsync(Api.ConnectionString, archive, Cancellation));
        string app = new NpgsqlConnectionStringBuilder(Api.AppConnectionString).Username!;
        Assert.Equal(0L, await ScalarAsync<long>(
            "SELECT count(*) FROM pg_roles WHERE (rolname = $2 OR starts_with(rolname, $3)) AND has_schema_privilege(oid, $1, 'USAGE')",
            archive, app, _rolePrefix));
        Assert.True(await ScalarAsync<long>("SELECT count(*) FROM pg_roles WHERE starts_with(rolname, $1)", _rolePrefix) > 0); // staying's role, at least
        Assert.Equal(0L, await ScalarAsync<long>("SELECT count(*) FROM pg_roles WHERE rolname = $1", role));

        await using var asApp = new NpgsqlConnection(Api.AppConnectionString);
        await asApp.OpenAsync(Cancellation);
        await using var read = new NpgsqlCommand($"SELECT count(*) FROM {PgIdentifier.Quote(archive)}.kept", asApp);
        Assert.Equal(PostgresErrorCodes.InsufficientPrivilege, (await Assert.ThrowsAsync<PostgresException>(() => read.ExecuteScalarAsync(Cancellation))).SqlState);
    }

    private static async Task<T> ReadAsync<T>(HttpResponseMessage response)
    {
        Assert.True(response.IsSuccessStatusCode, $"{(int)response.StatusCode}: {await response.Content.ReadAsStringAsync(Cancellation)}");
        return (await response.Content.ReadFromJsonAsync<T>(Cancellation))!;
    }

    private async Task KeepRowsAsync(string schema, int rows) =>
        await ScalarAsync<int>($"CREATE TABLE {PgIdentifier.Quote(schema)}.kept (id int); INSERT INTO {PgIdentifier.Quote(schema)}.kept SELECT generate_series(1, {rows}); SELECT 0");

    private Task<long> KeptRowsAsync(string schema) => ScalarAsync<long>($"SELECT count(*) FROM {PgIdentifier.Quote(schema)}.kept");

    private Task<bool> TableExistsAsync(string schema, string table) =>
        ScalarAsync<bool>("SELECT to_regclass(format('%I.%I', $1::text, $2::text)) IS NOT NULL", schema, table);

    /// <summary>One value, on a connection of the test's own, as the owner: no routing involved.</summary>
    private async Task<T> ScalarAsync<T>(string sql, params object[] values)
    {
        await using var connection = new NpgsqlConnection(Api.ConnectionString);
        await connection.OpenAsync(Cancellation);
        await using var command = new NpgsqlCommand(sql, connection);
        foreach (object value in values)
        {
            command.Parameters.Add(new NpgsqlParameter { Value = value });
        }

        return (T)(await command.ExecuteScalarAsync(Cancellation))!;
    }
}
