using System.Net;
using System.Net.Http.Json;
using Npgsql;
using Saas.Api.Model;
using Tenants.Shared;

namespace Saas.Api.Tests;

/// <summary>
/// The Api holds no owner's login: it records a new tenant or an operator's request in the catalog, and the Worker
/// carries it out. With the Worker running the answer is immediate (201/200); without it, 202 Accepted with the
/// tenant's location, and the Worker catches up once it runs. Each request is audited with its operator.
/// </summary>
public sealed class WorkerRequestTests(PostgresFixture postgres) : IAsyncLifetime
{
    private string _database = string.Empty;
    private ApiFactory? _api;

    private static CancellationToken Cancellation => TestContext.Current.CancellationToken;

    private ApiFactory Api => _api ??= new ApiFactory(_database, startWorker: false);

    // The shared schema is a template option: the app's own setting, quoted.
    private static string Shared { get; } = PgIdentifier.Quote(ApiSettings.SharedSchema);

    public async ValueTask InitializeAsync() => _database = await postgres.Cluster.CreateDatabaseAsync(Cancellation);

    public async ValueTask DisposeAsync()
    {
        if (_api is not null)
        {
            await _api.DisposeAsync();
        }
    }

    [Fact]
    public async Task Without_the_Worker_the_Api_accepts_and_the_Worker_carries_it_out_once_it_runs()
    {
        _api = new ApiFactory(_database, [new("Tenancy:RequestWait", "00:00:01")], startWorker: false);

        // The catalog is the Worker's to create: here a first Worker made it and is gone again.
        await using (var first = new WorkerHost(Api.ConnectionString, []))
        {
            first.Start();
            await Eventually.UntilAsync(async () => await ScalarAsync<bool>($"SELECT to_regclass('{Shared}.tenant_requests') IS NOT NULL"), "the Worker to create the catalog", Cancellation);
        }

        using HttpClient admin = Api.Client(Api.Tokens.Admin());
        using HttpResponseMessage accepted = await admin.PostAsJsonAsync("/tenants", new CreateTenantRequest("later", "Later Inc."), Cancellation);
        Assert.Equal(HttpStatusCode.Accepted, accepted.StatusCode);
        Assert.Equal("/tenants/later", accepted.Headers.Location?.OriginalString);
        Assert.Equal("pending", (await accepted.Content.ReadFromJsonAsync<TenantResponse>(Cancellation))!.State);
        Assert.DoesNotContain("later", await Api.SchemasAsync()); // the Api created nothing

        Api.Worker.Start();
        await Eventually.UntilAsync(async () => (await admin.GetFromJsonAsync<TenantResponse>("/tenants/later", Cancellation))!.State == "ready", "the Worker to migrate the new tenant", Cancellation);
        using HttpClient member = Api.Client(Api.Tokens.Member("later"));
        Assert.Equal("later", (await member.GetFromJsonAsync<CurrentTenantResponse>("/tenant", Cancellation))!.Schema);
    }

    [Fact]
    public async Task With_the_Worker_each_request_is_answered_at_once_and_audited_with_its_operator()
    {
        Api.Worker.Start();
        await Api.ProvisionAsync("audited");
        using HttpClient admin = Api.Client(Api.Tokens.Admin());

        Assert.Equal("deactivated", (await (await admin.PostAsync("/tenants/audited/deactivate", null, Cancellation)).Content.ReadFromJsonAsync<TenantResponse>(Cancellation))!.Status);
        Assert.Equal("active", (await (await admin.PostAsync("/tenants/audited/reactivate", null, Cancellation)).Content.ReadFromJsonAsync<TenantResponse>(Cancellation))!.Status);
        await AssertRefusedAsync(await admin.DeleteAsync("/tenants/audited", Cancellation), 409, "tenant-active");
        Assert.Equal(HttpStatusCode.NotFound, (await admin.PostAsync("/tenants/nobody/deactivate", null, Cancellation)).StatusCode);

        // Every request is recorded with who asked and how it ended, in order.
        await using var connection = new NpgsqlConnection(Api.ConnectionString);
        await connection.OpenAsync(Cancellation);
        await using var audit = new NpgsqlCommand($"SELECT tenant || ' ' || action || ' ' || state || ' ' || outcome || ' by ' || requested_by FROM {Shared}.tenant_requests ORDER BY id", connection);
        var trail = new List<string>();
        await using (NpgsqlDataReader reader = await audit.ExecuteReaderAsync(Cancellation))
        {
            while (await reader.ReadAsync(Cancellation))
            {
                trail.Add(reader.GetString(0));
            }
        }

        Assert.Equal(
            [
                "audited deactivate done deactivated by test-user",
                "audited reactivate done active by test-user",
                "audited delete refused tenant-active by test-user",
                "nobody deactivate refused not-found by test-user",
            ],
            trail);
    }

    [Fact]
    public async Task The_app_role_may_record_a_request_but_never_change_a_tenant_itself()
    {
        Api.Worker.Start();
        await Api.ProvisionAsync("guarded");
        string appRole = $"app_{Guid.NewGuid():N}"[..16];
        await ExecuteAsync($"CREATE ROLE {appRole} LOGIN NOSUPERUSER NOINHERIT; GRANT USAGE ON SCHEMA {Shared} TO {appRole}; " +
            $"GRANT SELECT, INSERT ON {Shared}.tenants TO {appRole}; GRANT SELECT ON {Shared}.tenant_requests TO {appRole}; " +
            $"GRANT INSERT (tenant, action, schema_disposal, release_name, requested_by) ON {Shared}.tenant_requests TO {appRole}");
        await using var asApp = new NpgsqlConnection(new NpgsqlConnectionStringBuilder(Api.ConnectionString) { Username = appRole, Pooling = false }.ConnectionString);
        await asApp.OpenAsync(Cancellation);

        foreach (string sql in (string[])[
            $"UPDATE {Shared}.tenants SET status = 'deactivated' WHERE name = 'guarded'",
            $"DELETE FROM {Shared}.tenants WHERE name = 'guarded'",
            $"UPDATE {Shared}.tenant_requests SET state = 'done'",
            $"INSERT INTO {Shared}.tenant_requests (tenant, action, requested_by, state) VALUES ('guarded', 'delete', 'me', 'done')",
        ])
        {
            await using var command = new NpgsqlCommand(sql, asApp);
            PostgresException refused = await Assert.ThrowsAsync<PostgresException>(() => command.ExecuteNonQueryAsync(Cancellation));
            Assert.Equal(PostgresErrorCodes.InsufficientPrivilege, refused.SqlState);
        }

        await using var request = new NpgsqlCommand($"INSERT INTO {Shared}.tenant_requests (tenant, action, requested_by) VALUES ('guarded', 'deactivate', 'me')", asApp);
        Assert.Equal(1, await request.ExecuteNonQueryAsync(Cancellation));
        await Eventually.UntilAsync(async () => await ScalarAsync<string>($"SELECT status FROM {Shared}.tenants WHERE name = 'guarded'") == "deactivated", "the Worker to carry out the recorded request", Cancellation);
    }

    private static async Task AssertRefusedAsync(HttpResponseMessage response, int status, string type)
    {
        Assert.Equal(status, (int)response.StatusCode);
        Assert.EndsWith(":" + type, (await response.Content.ReadFromJsonAsync<System.Text.Json.JsonElement>(Cancellation)).GetProperty("type").GetString(), StringComparison.Ordinal);
    }

    private async Task ExecuteAsync(string sql)
    {
        await using var connection = new NpgsqlConnection(Api.ConnectionString);
        await connection.OpenAsync(Cancellation);
        await using var command = new NpgsqlCommand(sql, connection);
        await command.ExecuteNonQueryAsync(Cancellation);
    }

    private async Task<T> ScalarAsync<T>(string sql)
    {
        await using var connection = new NpgsqlConnection(Api.ConnectionString);
        await connection.OpenAsync(Cancellation);
        await using var command = new NpgsqlCommand(sql, connection);
        return (T)(await command.ExecuteScalarAsync(Cancellation))!;
    }
}
