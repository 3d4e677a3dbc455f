using System.Collections.Concurrent;
using System.Data;
using System.Data.Common;
using System.Diagnostics;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Infrastructure;
using Microsoft.EntityFrameworkCore.Storage;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;
using Tenants.Shared.EntityFramework;
using Tenants.Shared.Routing;

namespace Tenants.Shared.Tests;

public sealed class RoutingTests(PostgresFixture postgres) : DatabaseTest(postgres)
{
    [Fact]
    public async Task Raw_npgsql_commands_run_with_the_tenant_schema_then_shared_inside_a_scope_and_shared_only_outside()
    {
        await Host.ProvisionAsync("raw_a");
        await using (NpgsqlConnection outside = await Host.DataSource.OpenConnectionAsync(Cancellation))
        {
            Assert.Equal(["shared"], await SchemasOnPathAsync(outside));
        }

        await using (await Host.Tenants.EnterAsync("raw_a", Cancellation))
        await using (NpgsqlConnection inside = await Host.DataSource.OpenConnectionAsync(Cancellation))
        {
            Assert.Equal(["raw_a", "shared"], await SchemasOnPathAsync(inside));
            await using var insert = new NpgsqlCommand("INSERT INTO notes (\"Tenant\", \"Body\") VALUES ('raw_a', 'raw')", inside);
            await insert.ExecuteNonQueryAsync(Cancellation);
        }

        Assert.Equal((1, 0), await Host.CountRowsAsync("raw_a"));
    }

    [Fact]
    public async Task An_EF_query_inside_a_scope_costs_no_round_trip_for_routing()
    {
        await Host.ProvisionWithANoteAsync("trips_a");
        using var commands = new CommandRecorder(ConnectionString);

        await using (await Host.Tenants.EnterAsync("trips_a", Cancellation))
        await using (AsyncServiceScope scope = Host.CreateScope())
        {
            NotesContext db = scope.ServiceProvider.GetRequiredService<NotesContext>();
            Assert.Equal(["trips_a"], await BodiesAsync(db));
            Assert.Equal(["trips_a"], await BodiesAsync(db));
        }

        // Two queries, two round trips: the context keeps the connection its first query opened and routed (the
        // routing inside that query's own round trip), so the second runs no routing statement at all.
        string[] ran = [.. commands.Texts];
        Assert.Equal(2, ran.Length);
        Assert.StartsWith("SET search_path TO \"trips_a\"", ran[0], StringComparison.Ordinal);
        Assert.DoesNotContain("SET ", ran[1], StringComparison.Ordinal);
    }

    [Fact]
    public async Task Contexts_share_one_set_of_options_built_once_whichever_tenant_they_serve()
    {
        await Host.ProvisionWithANoteAsync("once_a");
        await Host.ProvisionWithANoteAsync("once_b");
        var seen = new List<DbContextOptions>();
        foreach (string tenant in (string[])["once_a", "once_b"])
        {
            await using (await Host.Tenants.EnterAsync(tenant, Cancellation))
            await using (AsyncServiceScope scope = Host.CreateScope())
            {
                NotesContext db = scope.ServiceProvider.GetRequiredService<NotesContext>();
                Assert.Equal([tenant], await BodiesAsync(db));
                seen.Add(db.GetService<IDbContextOptions>() as DbContextOptions ?? throw new InvalidOperationException("no options"));
            }
        }

        // Building options is most of what a registration costs per context; each context's connection is its own.
        Assert.Same(seen[0], seen[1]);
    }

    [Fact]
    public async Task A_context_that_kept_its_connection_for_one_tenant_serves_another_scope_and_its_transactions()
    {
        await Host.ProvisionWithANoteAsync("kept_a");
        await Host.ProvisionWithANoteAsync("kept_b");
        await using AsyncServiceScope scope = Host.CreateScope();
        NotesContext db;
        await using (await Host.Tenants.EnterAsync("kept_a", Cancellation))
        {
            db = scope.ServiceProvider.GetRequiredService<NotesContext>(); // created in kept_a's scope
            Assert.Equal(["kept_a"], await BodiesAsync(db));
        }

        Assert.Equal(ConnectionState.Open, db.Database.GetDbConnection().State); // kept, still routed to kept_a

        // The kept connection still serves kept_a; a transaction in kept_b's scope must not refuse it or write there.
        await using (await Host.Tenants.EnterAsync("kept_b", Cancellation))
        {
            await using var transaction = await db.Database.BeginTransactionAsync(Cancellation);
            db.Notes.Add(new Note { Tenant = "kept_b", Body = "in kept_b's transaction" });
            await db.SaveChangesAsync(Cancellation);
            Assert.Equal(["in kept_b's transaction", "kept_b"], await BodiesAsync(db));
            await transaction.CommitAsync(Cancellation);
        }

        Assert.Equal((2, 0), await Host.CountRowsAsync("kept_b"));
        Assert.Equal((1, 0), await Host.CountRowsAsync("kept_a"));
    }

    [Fact]
    public async Task Released_kept_connections_go_back_to_the_pool_and_their_contexts_route_again_on_their_next_command()
    {
        await Host.ProvisionWithANoteAsync("release_a");
        await Host.ProvisionWithANoteAsync("release_b");
        await using (TenantScope tenant = await Host.Tenants.EnterAsync("release_a", Cancellation))
        await using (AsyncServiceScope scope = Host.CreateScope())
        {
            NotesContext db = scope.ServiceProvider.GetRequiredService<NotesContext>();
            DbConnection connection = db.Database.GetDbConnection();
            Assert.Equal(["release_a"], await BodiesAsync(db));
            Assert.Equal(ConnectionState.Open, connection.State); // kept between commands

            tenant.ReleaseConnections();
            Assert.Equal(ConnectionState.Closed, connection.State);
            db.Notes.Add(new Note { Tenant = "release_a", Body = "after the release" });
            await db.SaveChangesAsync(Cancellation);
            Assert.Equal(["after the release", "release_a"], await BodiesAsync(db));

            // A transaction keeps its connection whatever is released.
            await using IDbContextTransaction transaction = await db.Database.BeginTransactionAsync(Cancellation);
            tenant.ReleaseConnections();
            Assert.Equal(ConnectionState.Open, connection.State);
            db.Notes.Add(new Note { Tenant = "release_a", Body = "in the transaction" });
            await db.SaveChangesAsync(Cancellation);
            await transaction.CommitAsync(Cancellation);
        }

        Assert.Equal((3, 0), await Host.CountRowsAsync("release_a"));
        Assert.Equal((1, 0), await Host.CountRowsAsync("release_b"));
    }

    [Fact]
    public async Task A_context_leased_in_a_nested_scope_is_released_with_the_outermost_scope()
    {
        await Host.ProvisionWithANoteAsync("release_outer");
        await Host.ProvisionWithANoteAsync("release_inner");
        await using TenantScope outer = await Host.Tenants.EnterAsync("release_outer", Cancellation);
        await using AsyncServiceScope scope = Host.CreateScope();
        DbConnection connection;
        await using (TenantScope inner = await Host.Tenants.EnterAsync("release_inner", Cancellation))
        {
            NotesContext db = scope.ServiceProvider.GetRequiredService<NotesContext>();
            connection = db.Database.GetDbConnection();
            Assert.Equal(["release_inner"], await BodiesAsync(db));
            inner.ReleaseConnections(); // enlisted with the outer scope, whose owner knows when the work is done
            Assert.Equal(ConnectionState.Open, connection.State);
        }

        outer.ReleaseConnections();
        Assert.Equal(ConnectionState.Closed, connection.State);
    }

    [Fact]
    public async Task A_connection_the_app_closes_and_reopens_itself_is_routed_again()
    {
        await Host.ProvisionWithANoteAsync("reopen_a");
        await using (await Host.Tenants.EnterAsync("reopen_a", Cancellation))
        await using (AsyncServiceScope scope = Host.CreateScope())
        {
            NotesContext db = scope.ServiceProvider.GetRequiredService<NotesContext>();
            DbConnection connection = db.Database.GetDbConnection();
            for (int round = 0; round < 2; round++)
            {
                // Opened by the app, not by EF: the pool reset undid the last round's route when it closed.
                await connection.OpenAsync(Cancellation);
                Assert.Equal(["reopen_a"], await BodiesAsync(db));
                await connection.CloseAsync();
            }
        }
    }

    [Fact]
    public async Task Routing_remembers_only_connections_that_are_open()
    {
        await Host.ProvisionWithANoteAsync("open_a");
        var routing = (SetSearchPathOnOpen)Host.Services.GetRequiredService<ITenantConnectionRouting>();
        int before = routing.Remembered;
        for (int i = 0; i < 20; i++)
        {
            await using (await Host.Tenants.EnterAsync("open_a", Cancellation))
            await using (AsyncServiceScope scope = Host.CreateScope())
            {
                NotesContext db = scope.ServiceProvider.GetRequiredService<NotesContext>();
                Assert.Equal(["open_a"], await BodiesAsync(db));
                Assert.Equal(before + 1, routing.Remembered); // its kept connection

                await using NpgsqlConnection raw = await Host.DataSource.OpenConnectionAsync(Cancellation);
                Assert.Equal(before + 2, routing.Remembered);
            }
        }

        // Closed, disposed, and gone from the table: what the routing holds is bounded by the open connections.
        Assert.Equal(before, routing.Remembered);
    }

    [Fact]
    public async Task The_sync_raw_path_routes_the_same_way()
    {
        await Host.ProvisionAsync("raw_sync");
        using (Host.Tenants.Enter("raw_sync"))
        using (NpgsqlConnection inside = Host.DataSource.OpenConnection())
        {
            Assert.Equal(["raw_sync", "shared"], await SchemasOnPathAsync(inside));
        }

        using NpgsqlConnection outside = Host.DataSource.OpenConnection();
        Assert.Equal(["shared"], await SchemasOnPathAsync(outside));
    }

    [Fact]
    public async Task Shared_connections_see_only_the_shared_schema_even_inside_a_scope()
    {
        await Host.ProvisionAsync("raw_b");
        await using (await Host.Tenants.EnterAsync("raw_b", Cancellation))
        await using (NpgsqlConnection shared = await Host.DataSource.Unrouted.OpenConnectionAsync(Cancellation))
        {
            Assert.Equal(["shared"], await SchemasOnPathAsync(shared));
        }
    }

    /// <summary>The bodies of the notes the context's query sees, in order: whose schema it ran in.</summary>
    private static Task<string[]> BodiesAsync(NotesContext db) =>
        db.Notes.OrderBy(n => n.Body).Select(n => n.Body).ToArrayAsync(Cancellation);

    private static async Task<string[]> SchemasOnPathAsync(NpgsqlConnection connection)
    {
        await using var command = new NpgsqlCommand("SELECT current_schemas(false)", connection);
        return (string[])(await command.ExecuteScalarAsync(Cancellation))!;
    }
}
