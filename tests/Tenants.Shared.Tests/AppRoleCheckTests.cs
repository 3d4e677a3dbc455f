using System.Globalization;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Npgsql;

namespace Tenants.Shared.Tests;

/// <summary>
/// The app role's start-up check, through a host built as the Api (no owner connection) and the Worker (with one) build
/// theirs (AddTenancy, then start): the shipped setup starts; an app role that bypasses grants, inherits the tenant roles or may create anything stops
/// the host before any hosted service starts, with a message that names the role and the fix, never the password.
/// </summary>
public sealed class AppRoleCheckTests(PostgresFixture postgres) : LeastPrivilegedAppTest(postgres)
{
    private const string Password = "never-in-a-message";

    [Fact]
    public async Task The_shipped_setup_starts()
    {
        await StartAsync(WithPassword(AppConnectionString), OwnerConnectionString); // the Worker
        await StartAsync(WithPassword(AppConnectionString), ownerConnectionString: null); // the Api
    }

    [Fact]
    public async Task One_role_for_app_and_owner_starts_unchecked()
    {
        await StartAsync(OwnerConnectionString, OwnerConnectionString);
        await StartAsync(OwnerConnectionString, ownerConnectionString: null); // the owner alone: it owns the catalog
        await StartAsync(await Postgres.Cluster.CreateDatabaseAsync(Cancellation), ownerConnectionString: null); // the superuser in its own database, as the Api's tests run
    }

    [Fact]
    public async Task Without_an_owner_connection_a_superuser_that_does_not_own_the_catalog_is_refused()
    {
        InvalidOperationException refused = await Assert.ThrowsAsync<InvalidOperationException>(() => StartAsync(ConnectionString, ownerConnectionString: null));
        Assert.Contains("is a superuser", refused.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("ALTER ROLE {0} SUPERUSER", "is a superuser", "ALTER ROLE \"{0}\" NOSUPERUSER NOINHERIT;", true)]
    [InlineData("ALTER ROLE {0} INHERIT", "has INHERIT", "ALTER ROLE \"{0}\" NOSUPERUSER NOINHERIT;", true)]
    [InlineData("GRANT TEMPORARY ON DATABASE \"{1}\" TO {0}", "may create temporary tables", "REVOKE TEMPORARY ON DATABASE \"{1}\" FROM PUBLIC, \"{0}\";", true)]
    [InlineData("GRANT CREATE ON SCHEMA public TO {0}", "may create objects in schema public", "REVOKE CREATE ON SCHEMA public FROM PUBLIC, \"{0}\";", true)]
    [InlineData("ALTER ROLE {0} SUPERUSER", "is a superuser", "ALTER ROLE \"{0}\" NOSUPERUSER NOINHERIT;", false)]
    [InlineData("ALTER ROLE {0} INHERIT", "has INHERIT", "ALTER ROLE \"{0}\" NOSUPERUSER NOINHERIT;", false)]
    [InlineData("GRANT TEMPORARY ON DATABASE \"{1}\" TO {0}", "may create temporary tables", "REVOKE TEMPORARY ON DATABASE \"{1}\" FROM PUBLIC, \"{0}\";", false)]
    [InlineData("GRANT CREATE ON SCHEMA public TO {0}", "may create objects in schema public", "REVOKE CREATE ON SCHEMA public FROM PUBLIC, \"{0}\";", false)]
    public async Task An_app_role_that_bypasses_inherits_or_creates_stops_the_host_with_the_fix(string change, string problem, string fix, bool givenOwner)
    {
        string database = new NpgsqlConnectionStringBuilder(ConnectionString).Database!;
        await ExecuteAsSuperuserAsync(string.Format(CultureInfo.InvariantCulture, change, AppRole, database));

        // With the owner's connection, as the Worker starts; without, as the Api does (the owner made the catalog).
        InvalidOperationException refused = await Assert.ThrowsAsync<InvalidOperationException>(
            () => StartAsync(WithPassword(AppConnectionString), givenOwner ? OwnerConnectionString : null));
        Assert.Contains($"app role \"{AppRole}\"", refused.Message, StringComparison.Ordinal);
        Assert.Contains(problem, refused.Message, StringComparison.Ordinal);
        Assert.Contains(string.Format(CultureInfo.InvariantCulture, fix, AppRole, database), refused.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(Password, refused.Message, StringComparison.Ordinal);
    }

    private static string WithPassword(string connectionString) =>
        new NpgsqlConnectionStringBuilder(connectionString) { Password = Password }.ConnectionString;

    private static async Task StartAsync(string connectionString, string? ownerConnectionString)
    {
        HostApplicationBuilder builder = Microsoft.Extensions.Hosting.Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings());
        builder.Services.AddLogging().AddTenancy(connectionString, ownerConnectionString: ownerConnectionString);
        using IHost host = builder.Build();
        await host.StartAsync(Cancellation);
        await host.StopAsync(Cancellation);
    }
}
