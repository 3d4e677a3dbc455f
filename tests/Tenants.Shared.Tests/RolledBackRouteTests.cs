using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Storage;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;

namespace Tenants.Shared.Tests;

/// <summary>
/// A route sent inside a transaction can be undone by a rollback to a savepoint (EF Core's own, around SaveChanges, or
/// the app's), and a route prefixed to a query is undone with it when the query fails: either way the connection no
/// longer serves the tenant the routing last sent, and the next command must route it again.
/// </summary>
public sealed class RolledBackRouteTests(PostgresFixture postgres) : LeastPrivilegedAppTest(postgres, "rb_a")
{
    // Enough rows that the failing one arrives after the reader has been handed out: the query fails while streaming.
    private const int Rows = 300;

    [Fact]
    public async Task SaveChanges_retried_after_a_failed_batch_in_a_transaction_writes_to_the_scopes_tenant()
    {
        await using (await App.Tenants.EnterAsync("rb_a", Cancellation))
        await using (AsyncServiceScope scope = App.CreateScope())
        {
            NotesContext db = scope.ServiceProvider.GetRequiredService<NotesContext>();
            await using IDbContextTransaction transaction = await db.Database.BeginTransactionAsync(Cancellation);
            var note = new Note { Tenant = "rb_a", Body = null! }; // NOT NULL: the batch fails, EF rolls back to its savepoint
            db.Notes.Add(note);
            DbUpdateException failed = await Assert.ThrowsAsync<DbUpdateException>(() => db.SaveChangesAsync(Cancellation));
            Assert.Equal(PostgresErrorCodes.NotNullViolation, Assert.IsType<PostgresException>(failed.InnerException).SqlState);

            note.Body = "retried";
            await db.SaveChangesAsync(Cancellation);
            await transaction.CommitAsync(Cancellation);
        }

        Assert.Equal((1, 0), await Host.CountRowsAsync("rb_a"));
    }

    [Fact]
    public async Task A_write_after_a_query_failed_while_streaming_and_a_rollback_to_savepoint_goes_to_the_scopes_tenant()
    {
        await SeedAsync();
        await using (await App.Tenants.EnterAsync("rb_a", Cancellation))
        await using (AsyncServiceScope scope = App.CreateScope())
        {
            NotesContext db = scope.ServiceProvider.GetRequiredService<NotesContext>();
            await using IDbContextTransaction transaction = await db.Database.BeginTransactionAsync(Cancellation);
            await transaction.CreateSavepointAsync("before_read", Cancellation);
            PostgresException failed = await Assert.ThrowsAsync<PostgresException>(() => ReadUntilTheLastRowFailsAsync(db));
            Assert.Equal(PostgresErrorCodes.DivisionByZero, failed.SqlState);
            await transaction.RollbackToSavepointAsync("before_read", Cancellation);

            db.Notes.Add(new Note { Tenant = "rb_a", Body = "after the rollback" });
            await db.SaveChangesAsync(Cancellation);
            await transaction.CommitAsync(Cancellation);
        }

        Assert.Equal((Rows + 1, 0), await Host.CountRowsAsync("rb_a"));
    }

    [Fact]
    public async Task After_a_query_failed_while_streaming_outside_a_transaction_its_context_still_serves_the_tenant()
    {
        await SeedAsync();
        await using (await App.Tenants.EnterAsync("rb_a", Cancellation))
        await using (AsyncServiceScope scope = App.CreateScope())
        {
            // The context's first query carries the routing prefix; PostgreSQL rolls the prefix back with the query.
            NotesContext db = scope.ServiceProvider.GetRequiredService<NotesContext>();
            PostgresException failed = await Assert.ThrowsAsync<PostgresException>(() => ReadUntilTheLastRowFailsAsync(db));
            Assert.Equal(PostgresErrorCodes.DivisionByZero, failed.SqlState);

            Assert.Equal(Rows, await db.Notes.CountAsync(Cancellation));
            db.Notes.Add(new Note { Tenant = "rb_a", Body = "after the failed query" });
            await db.SaveChangesAsync(Cancellation);
        }

        Assert.Equal((Rows + 1, 0), await Host.CountRowsAsync("rb_a"));
    }

    [Fact]
    public async Task After_a_query_failed_while_streaming_synchronously_its_context_still_serves_the_tenant()
    {
        await SeedAsync();
        await using (await App.Tenants.EnterAsync("rb_a", Cancellation))
        await using (AsyncServiceScope scope = App.CreateScope())
        {
            NotesContext db = scope.ServiceProvider.GetRequiredService<NotesContext>();
            PostgresException failed = Assert.Throws<PostgresException>(() =>
            {
                foreach (var row in FailingOnTheLastRow(db).AsEnumerable())
                {
                    Assert.NotNull(row.Body);
                }
            });
            Assert.Equal(PostgresErrorCodes.DivisionByZero, failed.SqlState);

            Assert.Equal(Rows, db.Notes.Count());
        }
    }

    [Fact]
    public async Task After_a_query_failed_as_its_reader_closed_its_context_still_serves_the_tenant()
    {
        await SeedAsync();
        await using (await App.Tenants.EnterAsync("rb_a", Cancellation))
        await using (AsyncServiceScope scope = App.CreateScope())
        {
            // Only the first row is read: the failing one arrives as the reader skips the rest on closing.
            NotesContext db = scope.ServiceProvider.GetRequiredService<NotesContext>();
            PostgresException failed = await Assert.ThrowsAsync<PostgresException>(async () =>
            {
                await foreach (var row in FailingOnTheLastRow(db).AsAsyncEnumerable().WithCancellation(Cancellation))
                {
                    Assert.NotNull(row.Body);
                    break;
                }
            });
            Assert.Equal(PostgresErrorCodes.DivisionByZero, failed.SqlState);

            Assert.Equal(Rows, await db.Notes.CountAsync(Cancellation));
        }
    }

    /// <summary>The tenant's rows, written by the owner straight into its schema: fast, and no routing involved.</summary>
    private async Task SeedAsync()
    {
        await using NpgsqlCommand seed = Host.DataSource.Unrouted.CreateCommand(
            $"INSERT INTO rb_a.notes (\"Tenant\", \"Body\") SELECT 'rb_a', repeat('x', 1000) FROM generate_series(1, {Rows})");
        await seed.ExecuteNonQueryAsync(Cancellation);
    }

    /// <summary>Streams the seeded rows; the last one divides by zero, long after the reader was handed out.</summary>
    private static async Task ReadUntilTheLastRowFailsAsync(NotesContext db)
    {
        await foreach (var row in FailingOnTheLastRow(db).AsAsyncEnumerable().WithCancellation(Cancellation))
        {
            Assert.NotNull(row.Body);
        }
    }

    /// <summary>The seeded rows (ids 1 to <see cref="Rows"/>) in order; the last one divides by zero.</summary>
    private static IQueryable<Row> FailingOnTheLastRow(NotesContext db) =>
        db.Notes.OrderBy(n => n.Id).Select(n => new Row(n.Body, 1 / (Rows - n.Id)));

    private sealed record Row(string Body, long Ratio);
}
