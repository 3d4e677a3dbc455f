using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;

namespace Tenants.Shared.Tests;

/// <summary>With a pool of one, every open gets the same server session, so any state left behind would show.</summary>
public sealed class PoolReuseTests(PostgresFixture postgres) : DatabaseTest(postgres)
{
    private TenancyHost? _single;

    private TenancyHost Single => _single!;

    public override async ValueTask InitializeAsync()
    {
        await base.InitializeAsync();
        await Host.ProvisionAsync("alpha");
        await Host.ProvisionAsync("beta");
        await SeedAsync("alpha", 3);
        await SeedAsync("beta", 5);
        _single = new TenancyHost(new NpgsqlConnectionStringBuilder(ConnectionString) { MaxPoolSize = 1, MinPoolSize = 0 }.ConnectionString);
    }

    public override async ValueTask DisposeAsync()
    {
        if (_single is not null)
        {
            await _single.DisposeAsync();
        }

        await base.DisposeAsync();
    }

    [Fact]
    public async Task Raw_connection_goes_back_to_the_shared_schema_after_a_tenant_scope()
    {
        int pid;
        await using (await Single.Tenants.EnterAsync("alpha", Cancellation))
        {
            await using NpgsqlConnection connection = await Single.DataSource.OpenConnectionAsync(Cancellation);
            pid = connection.ProcessID;
            Assert.Equal(["alpha", "shared"], await ScalarAsync<string[]>(connection, "SELECT current_schemas(false)"));
            Assert.Equal(3, await ScalarAsync<long>(connection, "SELECT count(*) FROM notes"));
        }

        await using (NpgsqlConnection connection = await Single.DataSource.OpenConnectionAsync(Cancellation))
        {
            Assert.Equal(pid, connection.ProcessID); // the very same server session
            Assert.Equal(["shared"], await ScalarAsync<string[]>(connection, "SELECT current_schemas(false)"));
            var missing = await Assert.ThrowsAsync<PostgresException>(() => ScalarAsync<long>(connection, "SELECT count(*) FROM notes"));
            Assert.Equal(PostgresErrorCodes.UndefinedTable, missing.SqlState);
        }

        await using (await Single.Tenants.EnterAsync("beta", Cancellation))
        {
            await using NpgsqlConnection connection = await Single.DataSource.OpenConnectionAsync(Cancellation);
            Assert.Equal(pid, connection.ProcessID);
            Assert.Equal(["beta", "shared"], await ScalarAsync<string[]>(connection, "SELECT current_schemas(false)"));
            Assert.Equal(["beta"], await ScalarAsync<string[]>(connection, "SELECT array_agg(DISTINCT \"Tenant\") FROM notes"));
        }
    }

    [Fact]
    public async Task Ef_context_goes_back_to_the_shared_schema_after_a_tenant_scope()
    {
        await using AsyncServiceScope services = Single.CreateScope();
        NotesContext db = services.ServiceProvider.GetRequiredService<NotesContext>();

        using (Single.Tenants.Enter("alpha"))
        {
            Assert.Equal(["alpha"], await db.Notes.Select(n => n.Tenant).Distinct().ToListAsync(Cancellation));
        }

        var outside = await Assert.ThrowsAsync<PostgresException>(() => db.Notes.CountAsync(Cancellation));
        Assert.Equal(PostgresErrorCodes.UndefinedTable, outside.SqlState);

        using (Single.Tenants.Enter("beta"))
        {
            Assert.Equal(["beta"], await db.Notes.Select(n => n.Tenant).Distinct().ToListAsync(Cancellation));
            Assert.Equal(5, await db.Notes.CountAsync(Cancellation));
        }
    }

    private async Task SeedAsync(string tenant, int count)
    {
        await using TenantScope scope = await Host.Tenants.EnterAsync(tenant, Cancellation);
        await using AsyncServiceScope services = Host.CreateScope();
        NotesContext db = services.ServiceProvider.GetRequiredService<NotesContext>();
        db.Notes.AddRange(Enumerable.Range(0, count).Select(i => new Note { Tenant = tenant, Body = $"{tenant} {i}" }));
        await db.SaveChangesAsync(Cancellation);
    }

    private static async Task<T> ScalarAsync<T>(NpgsqlConnection connection, string sql)
    {
        await using var command = new NpgsqlCommand(sql, connection);
        return (T)(await command.ExecuteScalarAsync(Cancellation))!;
    }
}
