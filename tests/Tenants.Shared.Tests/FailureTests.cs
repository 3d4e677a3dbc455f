using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Storage;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;

namespace Tenants.Shared.Tests;

/// <summary>Exceptions and rollbacks inside a scope leave nothing behind: no ambient tenant, no routed session.</summary>
public sealed class FailureTests(PostgresFixture postgres) : DatabaseTest(postgres)
{
    private TenancyHost? _single;

    public override async ValueTask InitializeAsync()
    {
        await base.InitializeAsync();
        await Host.ProvisionAsync("gamma");
        _single = new TenancyHost(new NpgsqlConnectionStringBuilder(ConnectionString) { MaxPoolSize = 1 }.ConnectionString);
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
    public async Task An_exception_and_a_rolled_back_transaction_inside_a_scope_leave_no_tenant_state()
    {
        int pid = 0;
        var boom = await Assert.ThrowsAsync<InvalidOperationException>(async () =>
        {
            await using TenantScope scope = await _single!.Tenants.EnterAsync("gamma", Cancellation);
            await using AsyncServiceScope services = _single.CreateScope();
            NotesContext db = services.ServiceProvider.GetRequiredService<NotesContext>();
            await using IDbContextTransaction transaction = await db.Database.BeginTransactionAsync(Cancellation);
            pid = ((NpgsqlConnection)db.Database.GetDbConnection()).ProcessID;
            db.Notes.Add(new Note { Tenant = "gamma", Body = "never committed" });
            await db.SaveChangesAsync(Cancellation);
            Assert.Equal(1, await db.Notes.CountAsync(Cancellation)); // visible inside the transaction
            throw new InvalidOperationException("boom");
        });
        Assert.Equal("boom", boom.Message);

        Assert.Null(TenantContext.CurrentTenant);
        Assert.Equal((0, 0), await Host.CountRowsAsync("gamma")); // rolled back

        await using NpgsqlConnection after = await _single!.DataSource.OpenConnectionAsync(Cancellation);
        Assert.Equal(pid, after.ProcessID); // same server session as the failed scope used
        await using var command = new NpgsqlCommand("SELECT current_schemas(false), (SELECT count(*) FROM gamma.notes)", after);
        await using NpgsqlDataReader reader = await command.ExecuteReaderAsync(Cancellation);
        await reader.ReadAsync(Cancellation);
        Assert.Equal(["shared"], reader.GetFieldValue<string[]>(0));
        Assert.Equal(0, reader.GetInt64(1)); // the session that ran the rollback sees no row either
    }

    [Fact]
    public async Task A_transaction_never_spans_two_tenants()
    {
        await Host.WriteANoteAsync("gamma");
        await Host.ProvisionWithANoteAsync("delta");
        await using AsyncServiceScope services = Host.CreateScope();
        NotesContext db = services.ServiceProvider.GetRequiredService<NotesContext>();
        using (Host.Tenants.Enter("gamma"))
        {
            await using IDbContextTransaction transaction = await db.Database.BeginTransactionAsync(Cancellation);
            Assert.Equal(["gamma"], await BodiesAsync(db));
            using (Host.Tenants.Enter("delta"))
            {
                var refused = await Assert.ThrowsAsync<InvalidOperationException>(() => db.Notes.CountAsync(Cancellation));
                Assert.Contains("transaction for tenant 'delta'", refused.Message, StringComparison.Ordinal);
            }
        }
    }

    [Fact]
    public async Task A_connection_opened_before_the_scope_is_routed_on_its_next_command()
    {
        await Host.WriteANoteAsync("gamma");
        await Host.ProvisionWithANoteAsync("delta");
        await using AsyncServiceScope services = Host.CreateScope();
        NotesContext db = services.ServiceProvider.GetRequiredService<NotesContext>();
        await db.Database.OpenConnectionAsync(Cancellation); // outside any scope: shared only
        using (Host.Tenants.Enter("gamma"))
        {
            Assert.Equal(["gamma"], await BodiesAsync(db)); // 42P01 if not routed, delta's note if routed elsewhere
        }

        var outside = await Assert.ThrowsAsync<PostgresException>(() => db.Notes.CountAsync(Cancellation));
        Assert.Equal(PostgresErrorCodes.UndefinedTable, outside.SqlState); // routed back to shared only
    }

    private static Task<string[]> BodiesAsync(NotesContext db) => db.Notes.Select(n => n.Body).ToArrayAsync(Cancellation);
}
