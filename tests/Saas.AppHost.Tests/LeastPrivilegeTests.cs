using Aspire.Hosting;
using Aspire.Hosting.ApplicationModel;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using System.Net;
using Npgsql;

namespace Saas.AppHost.Tests;

/// <summary>
/// The AppHost hands the services two roles of their own, neither a superuser: the app's role for tenant data, which
/// creates nothing, to both; the owner, which owns the database and may create roles, to the Worker alone.
/// </summary>
public sealed class LeastPrivilegeTests(AppFixture fixture)
{
    // The role granted USAGE on acme's schema besides its owner: acme's tenant role.
    private const string AcmeRole =
        "(SELECT a.grantee::regrole::text FROM pg_namespace n, aclexplode(n.nspacl) a WHERE n.nspname = 'acme' AND a.privilege_type = 'USAGE' AND a.grantee <> n.nspowner)";

    private static CancellationToken Cancellation => TestContext.Current.CancellationToken;

    [Fact]
    public async Task The_internet_facing_Api_gets_no_owner_connection_only_the_Worker_does()
    {
        Dictionary<string, string> api = await EnvironmentAsync("api");
        Dictionary<string, string> worker = await EnvironmentAsync("worker");
        Assert.Contains("ConnectionStrings__appdb", api.Keys);
        Assert.DoesNotContain(api.Keys, k => k.Contains("owner", StringComparison.OrdinalIgnoreCase));
        Assert.Contains("ConnectionStrings__appdb-owner", worker.Keys);
    }

    [Fact]
    public async Task The_Api_serves_tenant_data_as_a_role_that_is_not_a_superuser()
    {
        string app = (await fixture.App.GetConnectionStringAsync("appdb", Cancellation))!;
        string superuser = (await fixture.App.GetConnectionStringAsync("postgres", Cancellation))!;
        string appRole = new NpgsqlConnectionStringBuilder(app).Username!;
        Assert.NotEqual(new NpgsqlConnectionStringBuilder(superuser).Username, appRole);

        using HttpClient api = await fixture.ApiClientAsync("acme", Cancellation);
        Assert.Equal(HttpStatusCode.OK, (await api.GetAsync("/t/acme/tenant", Cancellation)).StatusCode);

        await using var connection = new NpgsqlConnection(superuser);
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

        // Its own role can neither read nor write a table granted to acme's role, as migrated tables are; switching to
        // that role, as a tenant scope does, can.
        await using (var table = new NpgsqlCommand(
            $"""
            CREATE TABLE acme.probe (x int);
            INSERT INTO acme.probe VALUES (1);
            DO $$ BEGIN EXECUTE format('GRANT SELECT, INSERT ON acme.probe TO %I', {AcmeRole}); END $$;
            """,
            connection))
        {
            await table.ExecuteNonQueryAsync(Cancellation);
        }

        try
        {
            await using var asApp = new NpgsqlConnection(app);
            await asApp.OpenAsync(Cancellation);
            foreach (string sql in (string[])["SELECT x FROM acme.probe", "INSERT INTO acme.probe VALUES (2)"])
            {
                await using var command = new NpgsqlCommand(sql, asApp);
                PostgresException refused = await Assert.ThrowsAsync<PostgresException>(() => command.ExecuteNonQueryAsync(Cancellation));
                Assert.Equal(PostgresErrorCodes.InsufficientPrivilege, refused.SqlState);
            }

            await using (var become = new NpgsqlCommand($"SELECT set_config('role', {AcmeRole}, false)", asApp))
            {
                await become.ExecuteNonQueryAsync(Cancellation);
            }

            await using var read = new NpgsqlCommand("SELECT x FROM acme.probe", asApp);
            Assert.Equal(1, await read.ExecuteScalarAsync(Cancellation));
        }
        finally
        {
            await using var drop = new NpgsqlCommand("DROP TABLE acme.probe", connection);
            await drop.ExecuteNonQueryAsync(Cancellation);
        }
    }

    [Fact]
    public async Task The_services_own_the_schemas_as_a_role_that_owns_the_database_and_creates_roles_but_is_not_a_superuser()
    {
        string owner = (await fixture.App.GetConnectionStringAsync("appdb-owner", Cancellation))!;
        string ownerRole = new NpgsqlConnectionStringBuilder(owner).Username!;
        string appRole = new NpgsqlConnectionStringBuilder((await fixture.App.GetConnectionStringAsync("appdb", Cancellation))!).Username!;
        Assert.NotEqual(appRole, ownerRole);

        await using var superuser = new NpgsqlConnection((await fixture.App.GetConnectionStringAsync("postgres", Cancellation))!);
        await superuser.OpenAsync(Cancellation);
        await using (var role = new NpgsqlCommand(
            "SELECT rolsuper, rolcreaterole, rolcanlogin, (SELECT datdba::regrole::text FROM pg_database WHERE datname = 'appdb') FROM pg_roles WHERE rolname = $1", superuser))
        {
            role.Parameters.Add(new NpgsqlParameter { Value = ownerRole });
            await using NpgsqlDataReader reader = await role.ExecuteReaderAsync(Cancellation);
            Assert.True(await reader.ReadAsync(Cancellation), $"role {ownerRole} missing");
            Assert.Equal((false, true, true, ownerRole), (reader.GetBoolean(0), reader.GetBoolean(1), reader.GetBoolean(2), reader.GetString(3)));
        }

        // The Worker created the catalog and migrated acme with that connection: it owns what they made.
        await using (var owners = new NpgsqlCommand(
            "SELECT array_agg(DISTINCT nspowner::regrole::text) FROM pg_namespace WHERE nspname IN ('shared', 'acme', 'globex')", superuser))
        {
            Assert.Equal([ownerRole], (string[])(await owners.ExecuteScalarAsync(Cancellation))!);
        }

        // The app role creates nothing, not even a temporary table.
        await using var asApp = new NpgsqlCommand(
            "SELECT has_database_privilege($1, 'appdb', 'TEMPORARY'), has_schema_privilege($1, 'public', 'CREATE')", superuser);
        asApp.Parameters.Add(new NpgsqlParameter { Value = appRole });
        await using NpgsqlDataReader privileges = await asApp.ExecuteReaderAsync(Cancellation);
        Assert.True(await privileges.ReadAsync(Cancellation));
        Assert.Equal((false, false), (privileges.GetBoolean(0), privileges.GetBoolean(1)));
    }

    private async Task<Dictionary<string, string>> EnvironmentAsync(string resource)
    {
        IResource found = fixture.App.Services.GetRequiredService<DistributedApplicationModel>().Resources.Single(r => r.Name == resource);
        IExecutionConfigurationResult configuration = await ExecutionConfigurationBuilder.Create(found)
            .WithEnvironmentVariablesConfig()
            .BuildAsync(fixture.App.Services.GetRequiredService<DistributedApplicationExecutionContext>(), NullLogger.Instance, Cancellation);
        return configuration.EnvironmentVariables.ToDictionary(pair => pair.Key, pair => pair.Value);
    }
}
