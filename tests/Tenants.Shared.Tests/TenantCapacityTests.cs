using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;
using Postgres.Testing;
using Tenants.Shared.Capacity;
using Tenants.Shared.Catalog;

namespace Tenants.Shared.Tests;

/// <summary>
/// A tenant's share of the database is bounded by its plan: at most its plan's connections of the main pool at once
/// (past them it waits briefly, then is refused, while other tenants still get connections), and its statements under
/// its plan's statement_timeout. A plan change applies to the next scope, without a restart.
/// </summary>
public sealed class TenantCapacityTests(PostgresFixture postgres) : DatabaseTest(postgres)
{
    private static readonly TimeSpan Wait = TimeSpan.FromMilliseconds(300);

    protected override void Configure(TenancyOptions options)
    {
        options.Plans["standard"] = new TenantPlan { ConcurrentConnections = 50, StatementTimeout = TimeSpan.FromSeconds(60) };
        options.Plans["tight"] = new TenantPlan { ConcurrentConnections = 2, ConnectionWait = Wait, StatementTimeout = TimeSpan.FromMilliseconds(500) };
        options.Plans["patient"] = new TenantPlan { ConcurrentConnections = 2, ConnectionWait = TimeSpan.FromMinutes(1) };
        options.Plans["untimed"] = new TenantPlan { ConcurrentConnections = 50, StatementTimeout = TimeSpan.Zero };
    }

    private TenantPlans Plans => Host.Services.GetRequiredService<TenantPlans>();

    [Fact]
    public async Task A_tenant_at_its_connection_limit_waits_then_is_refused_while_another_tenant_gets_one_at_once()
    {
        await Host.ProvisionAsync("cap_a");
        await Host.ProvisionAsync("cap_b");
        await Plans.SetAsync("cap_a", "tight", Cancellation);

        var held = new List<NpgsqlConnection>();
        await using (await Host.Tenants.EnterAsync("cap_a", Cancellation))
        {
            held.Add(await Host.DataSource.OpenConnectionAsync(Cancellation));
            held.Add(await Host.DataSource.OpenConnectionAsync(Cancellation));

            TenantBusyException busy = await Assert.ThrowsAsync<TenantBusyException>(async () => await Host.DataSource.OpenConnectionAsync(Cancellation));
            Assert.Equal(("cap_a", 2), (busy.Tenant, busy.Connections));

            // Another tenant, meanwhile, is served: cap_a's share is cap_a's alone.
            await using (await Host.Tenants.EnterAsync("cap_b", Cancellation))
            await using (NpgsqlConnection other = await Host.DataSource.OpenConnectionAsync(Cancellation))
            {
                Assert.Equal("cap_b", await SearchPathHeadAsync(other));
            }
        }

        // On a plan that waits long enough, a waiter gets the connection given back (the share is the same: same limit).
        await Plans.SetAsync("cap_a", "patient", Cancellation);
        await using (await Host.Tenants.EnterAsync("cap_a", Cancellation))
        {
            Task<NpgsqlConnection> waiting = Host.DataSource.OpenConnectionAsync(Cancellation).AsTask();
            Assert.False(waiting.IsCompleted);
            await held[0].DisposeAsync();
            await using NpgsqlConnection third = await waiting;
            Assert.Equal("cap_a", await SearchPathHeadAsync(third));
        }

        await held[1].DisposeAsync();
    }

    [Fact]
    public async Task EF_contexts_keeping_their_connections_count_against_the_share_and_give_it_back_when_disposed()
    {
        await Host.ProvisionWithANoteAsync("cap_ef_a");
        await Host.ProvisionWithANoteAsync("cap_ef_b");
        await Plans.SetAsync("cap_ef_a", "tight", Cancellation);

        await using (await Host.Tenants.EnterAsync("cap_ef_a", Cancellation))
        {
            // Each context keeps the connection its first query routed (in the same round trip as the query).
            await using AsyncServiceScope one = Host.CreateScope();
            await using AsyncServiceScope two = Host.CreateScope();
            Assert.Equal(["cap_ef_a"], await BodiesAsync(one));
            Assert.Equal(["cap_ef_a"], await BodiesAsync(two));

            await using (AsyncServiceScope three = Host.CreateScope())
            {
                await Assert.ThrowsAsync<TenantBusyException>(() => BodiesAsync(three));
            }

            await using (await Host.Tenants.EnterAsync("cap_ef_b", Cancellation))
            await using (AsyncServiceScope other = Host.CreateScope())
            {
                Assert.Equal(["cap_ef_b"], await BodiesAsync(other));
            }

            await one.DisposeAsync();
            await using AsyncServiceScope four = Host.CreateScope();
            Assert.Equal(["cap_ef_a"], await BodiesAsync(four));
        }
    }

    [Fact]
    public async Task The_statement_timeout_cancels_a_runaway_query_of_that_tenant_only()
    {
        await Host.ProvisionWithANoteAsync("slow_a");
        await Host.ProvisionWithANoteAsync("slow_b");
        await Plans.SetAsync("slow_a", "tight", Cancellation);

        // Through EF Core (the routing rides in the query's round trip) and through a raw connection.
        await using (await Host.Tenants.EnterAsync("slow_a", Cancellation))
        {
            await using (AsyncServiceScope scope = Host.CreateScope())
            {
                NotesContext db = scope.ServiceProvider.GetRequiredService<NotesContext>();
                PostgresException cancelled = await Assert.ThrowsAsync<PostgresException>(
                    () => db.Database.SqlQueryRaw<string>("SELECT \"Body\" AS \"Value\" FROM notes, pg_sleep(30)").ToListAsync(Cancellation));
                Assert.Equal(PostgresErrorCodes.QueryCanceled, cancelled.SqlState);
            }

            await using NpgsqlConnection raw = await Host.DataSource.OpenConnectionAsync(Cancellation);
            Assert.Equal("500ms", await ShowAsync(raw, "statement_timeout"));
            await using NpgsqlCommand sleep = new("SELECT pg_sleep(30)", raw);
            Assert.Equal(PostgresErrorCodes.QueryCanceled, (await Assert.ThrowsAsync<PostgresException>(() => sleep.ExecuteNonQueryAsync(Cancellation))).SqlState);
        }

        // The other tenant's statements run under its own plan's timeout, longer than this query.
        await using (await Host.Tenants.EnterAsync("slow_b", Cancellation))
        await using (AsyncServiceScope scope = Host.CreateScope())
        {
            NotesContext db = scope.ServiceProvider.GetRequiredService<NotesContext>();
            Assert.Equal(["slow_b"], await db.Database.SqlQueryRaw<string>("SELECT \"Body\" AS \"Value\" FROM notes, pg_sleep(1)").ToListAsync(Cancellation));
        }

        // Outside any scope, connections are back to the server's setting.
        await using NpgsqlConnection outside = await Host.DataSource.OpenConnectionAsync(Cancellation);
        Assert.Equal(await ShowAsync(Host.DataSource.Unrouted, "statement_timeout"), await ShowAsync(outside, "statement_timeout"));
    }

    [Fact]
    public async Task A_connection_moved_to_another_tenant_takes_that_tenant_s_timeout_and_share()
    {
        await Host.ProvisionWithANoteAsync("move_b");

        // A context created before any scope, used in one tenant's scope then in another's, on one open connection.
        (AsyncServiceScope services, NotesContext db) = await OpenedBeforeAnyScopeAsync("move_a", "tight");
        await using AsyncServiceScope disposed = services;
        var connection = (NpgsqlConnection)db.Database.GetDbConnection();
        await using (await Host.Tenants.EnterAsync("move_a", Cancellation))
        {
            Assert.Equal(["move_a"], await db.Notes.Select(n => n.Body).ToListAsync(Cancellation));
            Assert.Equal("500ms", await ShowAsync(connection, "statement_timeout"));
        }

        await using (await Host.Tenants.EnterAsync("move_b", Cancellation))
        {
            Assert.Equal(["move_b"], await db.Notes.Select(n => n.Body).ToListAsync(Cancellation));
            Assert.Equal("1min", await ShowAsync(connection, "statement_timeout"));
        }

        // move_a's share is whole again.
        await AssertWholeShareAsync("move_a");
    }

    [Fact]
    public async Task A_connection_moved_out_of_a_tenant_s_scope_runs_under_the_server_s_timeout_again()
    {
        // A context created before any scope, used in the tenant's scope then outside any, on one open connection.
        (AsyncServiceScope services, NotesContext db) = await OpenedBeforeAnyScopeAsync("leave_a", "tight");
        await using AsyncServiceScope disposed = services;
        var connection = (NpgsqlConnection)db.Database.GetDbConnection();
        await using (await Host.Tenants.EnterAsync("leave_a", Cancellation))
        {
            Assert.Equal(["leave_a"], await db.Notes.Select(n => n.Body).ToListAsync(Cancellation));
            Assert.Equal("500ms", await ShowAsync(connection, "statement_timeout"));
        }

        string[] outside = await db.Database.SqlQueryRaw<string>("SELECT current_setting('statement_timeout') AS \"Value\"").ToArrayAsync(Cancellation);
        Assert.Equal([await ShowAsync(Host.DataSource.Unrouted, "statement_timeout")], outside);
    }

    [Fact]
    public async Task A_timeout_set_on_a_connection_before_any_scope_does_not_follow_it_into_a_tenant_s_scope()
    {
        // Outside any scope, the context's connection serves the shared schema already, so the app's own SET runs on
        // it as it is; the connection is no longer as the pool handed it out.
        (AsyncServiceScope services, NotesContext db) = await OpenedBeforeAnyScopeAsync("untimed_a", "untimed");
        await using AsyncServiceScope disposed = services;
        await db.Database.ExecuteSqlRawAsync("SET statement_timeout = 1234", Cancellation);

        await using (await Host.Tenants.EnterAsync("untimed_a", Cancellation))
        {
            Assert.Equal(["untimed_a"], await db.Notes.Select(n => n.Body).ToListAsync(Cancellation));
            Assert.Equal(await ShowAsync(Host.DataSource.Unrouted, "statement_timeout"), await ShowAsync((NpgsqlConnection)db.Database.GetDbConnection(), "statement_timeout"));
        }
    }

    [Fact]
    public async Task Opens_that_fail_after_taking_the_tenant_s_share_give_it_back()
    {
        await Host.ProvisionWithANoteAsync("failed_a");
        await Plans.SetAsync("failed_a", "tight", Cancellation);

        // A main pool of two connections, both held outside any scope (no tenant's share): an open in the tenant's
        // scope takes its share, then waits on the pool until it is canceled or times out.
        var pool = new NpgsqlConnectionStringBuilder(ConnectionString) { MaxPoolSize = 2, Timeout = 1 };
        await using var small = new TenancyHost(pool.ConnectionString, Configure);

        // Only the opens that wait on a full pool are meant to time out; a login on a busy machine can take longer than
        // this pool's 1 s. So its two connections are made first, until both are, and every open below reuses one.
        await Eventually.UntilAsync(() => BothOpenAsync(small), "the small pool's two connections", Cancellation);
        await using (await small.Tenants.EnterAsync("failed_a", Cancellation))
        await using (AsyncServiceScope warm = small.CreateScope())
        {
            // The tenant known to the host, and the query compiled: from here on, only the open waits.
            Assert.Equal(1, await warm.ServiceProvider.GetRequiredService<NotesContext>().Notes.CountAsync(Cancellation));
        }

        // One failure at a time, each checked on its own: the context's next open would take back a share its
        // connection object still held.
        Func<Task>[] failures =
        [
            async () => await Assert.ThrowsAnyAsync<OperationCanceledException>(() => CountCanceledAsync(small)),
            () =>
            {
                using IServiceScope services = small.Services.CreateScope();
                Exception timedOut = Assert.ThrowsAny<Exception>(() => services.ServiceProvider.GetRequiredService<NotesContext>().Notes.Count());
                Assert.IsType<TimeoutException>(timedOut.GetBaseException());
                return Task.CompletedTask;
            },
        ];
        foreach (Func<Task> fail in failures)
        {
            NpgsqlConnection[] held = [await small.DataSource.Unrouted.OpenConnectionAsync(Cancellation), await small.DataSource.Unrouted.OpenConnectionAsync(Cancellation)];
            await using (await small.Tenants.EnterAsync("failed_a", Cancellation))
            {
                await fail();
            }

            foreach (NpgsqlConnection connection in held)
            {
                await connection.DisposeAsync();
            }

            await AssertWholeShareAsync("failed_a", small);
        }
    }

    [Fact]
    public async Task Connections_broken_by_the_server_give_their_share_back()
    {
        await Host.ProvisionWithANoteAsync("broken_a");
        await Plans.SetAsync("broken_a", "tight", Cancellation);
        await using (await Host.Tenants.EnterAsync("broken_a", Cancellation))
        {
            // Both of the tenant's connections, one raw and one an EF context's kept one, are terminated by the server.
            await using NpgsqlConnection raw = await Host.DataSource.OpenConnectionAsync(Cancellation);
            await using AsyncServiceScope services = Host.CreateScope();
            Assert.Equal(["broken_a"], await BodiesAsync(services));
            int[] pids = [raw.ProcessID, ((NpgsqlConnection)services.ServiceProvider.GetRequiredService<NotesContext>().Database.GetDbConnection()).ProcessID];
            await using (NpgsqlConnection admin = await Host.DataSource.Unrouted.OpenConnectionAsync(Cancellation))
            await using (var terminate = new NpgsqlCommand("SELECT count(*) FILTER (WHERE pg_terminate_backend(pid)) FROM unnest($1) pid", admin))
            {
                terminate.Parameters.Add(new NpgsqlParameter { Value = pids });
                Assert.Equal(2L, await terminate.ExecuteScalarAsync(Cancellation));
            }

            await Assert.ThrowsAnyAsync<NpgsqlException>(() => SearchPathHeadAsync(raw));
            await Assert.ThrowsAnyAsync<Exception>(() => BodiesAsync(services));
        }

        // Broken and disposed: the tenant's connections are its own again.
        await AssertWholeShareAsync("broken_a");
    }

    [Fact]
    public async Task A_plan_change_applies_to_the_next_scope_without_a_restart()
    {
        await Host.ProvisionAsync("change_a");
        await using (await Host.Tenants.EnterAsync("change_a", Cancellation))
        await using (NpgsqlConnection connection = await Host.DataSource.OpenConnectionAsync(Cancellation))
        {
            Assert.Equal("1min", await ShowAsync(connection, "statement_timeout"));
        }

        await Plans.SetAsync("change_a", "tight", Cancellation);
        await using (await Host.Tenants.EnterAsync("change_a", Cancellation))
        await using (NpgsqlConnection connection = await Host.DataSource.OpenConnectionAsync(Cancellation))
        {
            Assert.Equal("500ms", await ShowAsync(connection, "statement_timeout"));
        }

        await Plans.SetAsync("change_a", null, Cancellation);
        await using (await Host.Tenants.EnterAsync("change_a", Cancellation))
        {
            // Back on the default plan: three connections at once, past the tight plan's two.
            await using NpgsqlConnection one = await Host.DataSource.OpenConnectionAsync(Cancellation);
            await using NpgsqlConnection two = await Host.DataSource.OpenConnectionAsync(Cancellation);
            await using NpgsqlConnection three = await Host.DataSource.OpenConnectionAsync(Cancellation);
            Assert.Equal("1min", await ShowAsync(three, "statement_timeout"));
        }
    }

    [Fact]
    public async Task A_tenant_entered_by_its_record_runs_under_the_record_s_plan_without_asking_the_catalog()
    {
        await Host.ProvisionWithANoteAsync("record_a");
        TenantRecord tight = Assert.IsType<TenantRecord>(await Plans.SetAsync("record_a", "tight", Cancellation));

        // A fresh host has nothing cached: entering by name would ask the catalog which plan the tenant is on.
        await using var cold = new TenancyHost(ConnectionString, Configure);
        using var recorder = new CommandRecorder(ConnectionString);
        using (cold.Tenants.Enter(tight))
        {
            Assert.Equal("record_a", TenantContext.CurrentTenant);
            await using NpgsqlConnection connection = await cold.DataSource.OpenConnectionAsync(Cancellation);
            Assert.Equal("500ms", await ShowAsync(connection, "statement_timeout"));
            Assert.Equal("record_a", await SearchPathHeadAsync(connection));
        }

        // The recorder saw the scope's own commands, and no registry look-up among them.
        Assert.Contains(recorder.Texts, text => text.Contains("statement_timeout", StringComparison.Ordinal));
        Assert.DoesNotContain(recorder.Texts, text => text.Contains("SELECT plan FROM", StringComparison.Ordinal));

        // The record decides: one naming the default plan runs under it, whatever the catalog says now.
        using (cold.Tenants.Enter(tight with { Plan = null }))
        {
            await using NpgsqlConnection connection = await cold.DataSource.OpenConnectionAsync(Cancellation);
            Assert.Equal("1min", await ShowAsync(connection, "statement_timeout"));
        }
    }

    /// <summary>Both connections of the tight plan can be taken at once in the tenant's scope: none is held elsewhere.</summary>
    private async Task AssertWholeShareAsync(string tenant, TenancyHost? host = null)
    {
        host ??= Host;
        await using (await host.Tenants.EnterAsync(tenant, Cancellation))
        {
            await using NpgsqlConnection one = await host.DataSource.OpenConnectionAsync(Cancellation);
            await using NpgsqlConnection two = await host.DataSource.OpenConnectionAsync(Cancellation);
            Assert.Equal([tenant, tenant], [await SearchPathHeadAsync(one), await SearchPathHeadAsync(two)]);
        }
    }

    // A tenant with a note, on the plan given, and a context whose connection was opened outside any scope.
    private async Task<(AsyncServiceScope Services, NotesContext Db)> OpenedBeforeAnyScopeAsync(string tenant, string plan)
    {
        await Host.ProvisionWithANoteAsync(tenant);
        await Plans.SetAsync(tenant, plan, Cancellation);
        AsyncServiceScope services = Host.CreateScope();
        NotesContext db = services.ServiceProvider.GetRequiredService<NotesContext>();
        await db.Database.OpenConnectionAsync(Cancellation);
        return (services, db);
    }

    // Holds two of the host's pooled connections at once, then returns them; false when a login timed out (a connection
    // made before it stays in the pool).
    private static async Task<bool> BothOpenAsync(TenancyHost host)
    {
        try
        {
            await using NpgsqlConnection one = await host.DataSource.Unrouted.OpenConnectionAsync(Cancellation);
            await using NpgsqlConnection two = await host.DataSource.Unrouted.OpenConnectionAsync(Cancellation);
            return true;
        }
        catch (NpgsqlException e) when (e.InnerException is TimeoutException)
        {
            return false;
        }
    }

    // A context's query whose open is canceled while it waits on the pool.
    private static async Task<int> CountCanceledAsync(TenancyHost host)
    {
        await using AsyncServiceScope services = host.CreateScope();
        using var canceled = CancellationTokenSource.CreateLinkedTokenSource(Cancellation);
        canceled.CancelAfter(TimeSpan.FromMilliseconds(100));
        return await services.ServiceProvider.GetRequiredService<NotesContext>().Notes.CountAsync(canceled.Token);
    }

    private static async Task<List<string>> BodiesAsync(AsyncServiceScope scope) =>
        await scope.ServiceProvider.GetRequiredService<NotesContext>().Notes.Select(n => n.Body).ToListAsync(Cancellation);

    private static async Task<string> SearchPathHeadAsync(NpgsqlConnection connection)
    {
        await using NpgsqlCommand command = new("SELECT (current_schemas(false))[1]", connection);
        return (string)(await command.ExecuteScalarAsync(Cancellation))!;
    }

    private static async Task<string> ShowAsync(NpgsqlConnection connection, string setting)
    {
        await using NpgsqlCommand command = new($"SHOW {setting}", connection);
        return (string)(await command.ExecuteScalarAsync(Cancellation))!;
    }

    private static async Task<string> ShowAsync(NpgsqlDataSource source, string setting)
    {
        await using NpgsqlConnection connection = await source.OpenConnectionAsync(Cancellation);
        return await ShowAsync(connection, setting);
    }
}
