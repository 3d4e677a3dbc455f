using Npgsql;
using Tenants.Shared.Routing;

namespace Tenants.Shared.Tests;

/// <summary>
/// The startup check against the real thing: PostgreSQL directly, and a throwaway PgBouncer in each pool_mode.
/// </summary>
public sealed class SessionPoolingCheckTests(PostgresFixture postgres) : DatabaseTest(postgres)
{
    private const string Password = "never-in-a-message";

    [Fact(Timeout = Eventually.TestTimeout)]
    public async Task A_direct_connection_passes_every_time_even_with_a_pool_of_one()
    {
        CancellationToken cancellation = TestContext.Current.CancellationToken; // bounded by the Timeout
        // The probe's sessions are its own: an app pool of one, busy here, neither blocks it nor confuses it.
        string single = new NpgsqlConnectionStringBuilder(ConnectionString) { MaxPoolSize = 1 }.ConnectionString;
        await using NpgsqlDataSource app = NpgsqlDataSource.Create(single);
        await using NpgsqlConnection busy = await app.OpenConnectionAsync(cancellation);
        for (int i = 0; i < 20; i++)
        {
            await SessionPoolingCheck.EnsureSessionStateAsync(single, "shared", "connection string", cancellation);
        }
    }

    [Theory(Timeout = Eventually.TestTimeout)]
    [InlineData("transaction")]
    [InlineData("statement")]
    public async Task A_transaction_or_statement_pooler_is_refused_with_a_clear_message(string poolMode)
    {
        CancellationToken cancellation = TestContext.Current.CancellationToken; // bounded by the Timeout
        await PgBouncer.SetRoleDefaultSearchPathAsync(ConnectionString, "shared", Cancellation);
        await using PgBouncer bouncer = await PgBouncer.StartAsync(ConnectionString, poolMode, cancellation);
        string through = new NpgsqlConnectionStringBuilder(bouncer.ConnectionString) { Password = Password }.ConnectionString;

        var refused = await Assert.ThrowsAsync<InvalidOperationException>(
            () => SessionPoolingCheck.EnsureSessionStateAsync(through, "shared", "connection string", cancellation));
        Assert.Contains("transaction or statement mode", refused.Message, StringComparison.Ordinal);
        Assert.Contains("pool_mode = session", refused.Message, StringComparison.Ordinal);
        Assert.Contains($"Port={new NpgsqlConnectionStringBuilder(through).Port}", refused.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(Password, refused.Message, StringComparison.Ordinal);
    }

    [Fact(Timeout = Eventually.TestTimeout)]
    public async Task A_session_pooler_passes_once_the_role_has_the_shared_schema_as_its_default()
    {
        CancellationToken cancellation = TestContext.Current.CancellationToken; // bounded by the Timeout

        // PgBouncer drops Npgsql's search_path startup parameter: until the role carries the default, refused.
        await using (PgBouncer bouncer = await PgBouncer.StartAsync(ConnectionString, "session", cancellation))
        {
            var refused = await Assert.ThrowsAsync<InvalidOperationException>(
                () => SessionPoolingCheck.EnsureSessionStateAsync(bouncer.ConnectionString, "shared", "connection string", cancellation));
            Assert.Contains("search_path", refused.Message, StringComparison.Ordinal);
            Assert.Contains("ALTER ROLE \"postgres\" IN DATABASE", refused.Message, StringComparison.Ordinal);
            Assert.DoesNotContain("transaction or statement mode", refused.Message, StringComparison.Ordinal);
        }

        // A role default applies to server sessions started after it: a fresh bouncer (in production, RECONNECT).
        await PgBouncer.SetRoleDefaultSearchPathAsync(ConnectionString, "shared", Cancellation);
        await using (PgBouncer bouncer = await PgBouncer.StartAsync(ConnectionString, "session", cancellation))
        {
            for (int i = 0; i < 5; i++)
            {
                await SessionPoolingCheck.EnsureSessionStateAsync(bouncer.ConnectionString, "shared", "connection string", cancellation);
            }
        }
    }
}
