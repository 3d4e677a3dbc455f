using System.Net;
using Npgsql;

namespace Saas.AppHost.Tests;

/// <summary>The AppHost hands the services the app's own role for tenant data, and that role is no superuser.</summary>
public sealed class LeastPrivilegeTests(AppFixture fixture)
{
    private static CancellationToken Cancellation => TestContext.Current.CancellationToken;

    [Fact]
    public async Task The_Api_serves_tenant_data_as_a_role_that_is_not_a_superuser()
    {
        string app = (await fixture.App.GetConnectionStringAsync("appdb", Cancellation))!;
        string owner = (await fixture.App.GetConnectionStringAsync("postgres", Cancellation))!;
        string appRole = new NpgsqlConnectionStringBuilder(app).Username!;
        Assert.NotEqual(new NpgsqlConnectionStringBuilder(owner).Username, appRole);

        using HttpClient api = await fixture.ApiClientAsync("acme", Cancellation);
        Assert.Equal(HttpStatusCode.OK, (await api.GetAsync("/t/acme/tenant", Cancellation)).StatusCode);

        await using var connection = new NpgsqlConnection(owner);
        await connection.OpenAsync(Cancellation);
        await using (var role = new NpgsqlCommand("SELECT rolsuper, rolinherit, rolcreaterole, rolcreatedb FROM pg_roles WHERE rolname = $1", connection))
        {
            role.Parameters.Add(new NpgsqlParameter { Value = appRole });
            await using NpgsqlDataReader reader = await role.ExecuteReaderAsync(Cancellation);
            Assert.True(await reader.ReadAsync(Cancellation), $"role {appRole} missing");
            Assert.Equal((false, false, false, false), (reader.GetBoolean(0), reader.GetBoolean(1), reader.GetBoolean(2), reader.GetBoolean(3)));
        }

        // The services' pooled sessions (idle now, after the request) are logged in as that role.
        await using var sessions = new NpgsqlCommand(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = 'appdb' AND usename = $1", connection);
        sessions.Parameters.Add(new NpgsqlParameter { Value = appRole });
        Assert.True((long)(await sessions.ExecuteScalarAsync(Cancellation))! > 0, "no session of the app role");

        // Its own role cannot touch a tenant's schema: only a tenant scope's role switch reaches it.
        await using var asApp = new NpgsqlConnection(app);
        await asApp.OpenAsync(Cancellation);
        await using var write = new NpgsqlCommand("CREATE TABLE acme.intruder (x int)", asApp);
        PostgresException refused = await Assert.ThrowsAsync<PostgresException>(() => write.ExecuteNonQueryAsync(Cancellation));
        Assert.Equal(PostgresErrorCodes.InsufficientPrivilege, refused.SqlState);
    }
}
