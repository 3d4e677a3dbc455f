using System.Transactions;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;

namespace Tenants.Shared.Tests;

/// <summary>
/// Ambient transactions (<see cref="TransactionScope"/>): a connection enlisted in one skips the pool reset when it is
/// closed inside it (Npgsql hands it to the next open in that transaction, and back to the pool once the transaction
/// ends), so tenant routing refuses them.
/// </summary>
public sealed class AmbientTransactionTests(PostgresFixture postgres) : LeastPrivilegedAppTest(postgres, "ts_a", "ts_b")
{
    // A pool of one: every open gets the one server session, so whatever a transaction scope left on it shows.
    protected override void ConfigureAppConnection(NpgsqlConnectionStringBuilder connection) => connection.MaxPoolSize = 1;

    [Fact]
    public async Task A_TransactionScope_spanning_two_tenant_scopes_is_refused_and_leaves_no_session_routed()
    {
        var outsideAnyTenant = new List<(string User, string Path)>();
        Exception? outcome = await Record.ExceptionAsync(async () =>
        {
            using var transaction = new TransactionScope(TransactionScopeAsyncFlowOption.Enabled);
            foreach (string tenant in (string[])["ts_a", "ts_b"])
            {
                await using (await App.Tenants.EnterAsync(tenant, Cancellation))
                await using (AsyncServiceScope scope = App.CreateScope())
                {
                    NotesContext db = scope.ServiceProvider.GetRequiredService<NotesContext>();
                    db.Notes.Add(new Note { Tenant = tenant, Body = "in a transaction scope" });
                    await db.SaveChangesAsync(Cancellation);
                }
            }

            await using NpgsqlConnection raw = await App.DataSource.OpenConnectionAsync(Cancellation);
            outsideAnyTenant.Add(await WhoAmIAsync(raw));
            transaction.Complete();
        });

        // Outside any tenant scope, inside the transaction scope and after it, a session serves no tenant.
        Assert.All(outsideAnyTenant, seen => Assert.Equal((AppRole, "shared"), seen));
        await using (NpgsqlConnection next = await App.DataSource.Unrouted.OpenConnectionAsync(Cancellation))
        {
            Assert.Equal((AppRole, "shared"), await WhoAmIAsync(next));
        }

        // Refused before anything ran, rather than left outside the transaction scope's control.
        Assert.IsType<NotSupportedException>(outcome);
        Assert.Contains("TransactionScope", outcome.Message, StringComparison.Ordinal);
        Assert.Equal((0, 0), await Host.CountRowsAsync("ts_a"));
        Assert.Equal((0, 0), await Host.CountRowsAsync("ts_b"));
    }

    [Fact]
    public async Task A_context_that_kept_its_connection_is_refused_inside_a_TransactionScope_and_its_session_is_reset()
    {
        await Host.WriteANoteAsync("ts_a");
        await Host.WriteANoteAsync("ts_b");
        Exception? outcome;
        await using (await App.Tenants.EnterAsync("ts_a", Cancellation))
        {
            AsyncServiceScope scope = App.CreateScope();
            NotesContext db = scope.ServiceProvider.GetRequiredService<NotesContext>();
            Assert.Equal(["ts_a"], await db.Notes.Select(n => n.Body).ToArrayAsync(Cancellation)); // opens, routes and keeps its connection

            // Disposed inside the transaction scope: an enlisted connection would go back to the pool unreset after it.
            outcome = await Record.ExceptionAsync(async () =>
            {
                using var transaction = new TransactionScope(TransactionScopeAsyncFlowOption.Enabled);
                await using (scope)
                {
                    db.Notes.Add(new Note { Tenant = "ts_a", Body = "in a transaction scope" });
                    await db.SaveChangesAsync(Cancellation);
                }

                transaction.Complete();
            });
        }

        await using (NpgsqlConnection next = await App.DataSource.Unrouted.OpenConnectionAsync(Cancellation))
        {
            Assert.Equal((AppRole, "shared"), await WhoAmIAsync(next));
        }

        Assert.IsType<NotSupportedException>(Assert.IsType<DbUpdateException>(outcome).InnerException); // SaveChanges wraps it
        Assert.Equal((1, 0), await Host.CountRowsAsync("ts_a"));
        Assert.Equal((1, 0), await Host.CountRowsAsync("ts_b"));
    }

    [Fact]
    public async Task A_raw_connection_is_refused_inside_a_TransactionScope()
    {
        using var transaction = new TransactionScope(TransactionScopeAsyncFlowOption.Enabled);
        await using (await App.Tenants.EnterAsync("ts_a", Cancellation))
        {
            await Assert.ThrowsAsync<NotSupportedException>(async () => await App.DataSource.OpenConnectionAsync(Cancellation));
            Assert.Throws<NotSupportedException>(() => App.DataSource.OpenConnection());
        }
    }

    private static async Task<(string User, string Path)> WhoAmIAsync(NpgsqlConnection connection)
    {
        await using var command = new NpgsqlCommand("SELECT current_user::text, array_to_string(current_schemas(false), ',')", connection);
        await using NpgsqlDataReader reader = await command.ExecuteReaderAsync(Cancellation);
        await reader.ReadAsync(Cancellation);
        return (reader.GetString(0), reader.GetString(1));
    }
}
