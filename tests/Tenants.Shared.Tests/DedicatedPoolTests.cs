using System.Collections.Concurrent;
using System.Diagnostics;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Storage;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;
using Postgres.Testing;
using Tenants.Shared.Routing;
using Tenants.Shared.Security;

namespace Tenants.Shared.Tests;

/// <summary>
/// Dedicated pools for the busiest tenants, with the shipped least-privilege setup, so that a
/// connection's role shows which routing it got.
/// </summary>
public sealed class DedicatedPoolTests(PostgresFixture postgres) : LeastPrivilegedAppTest(postgres, "dp_a", "dp_b")
{
    private const int PoolSize = 2;

    protected override void ConfigureApp(TenancyOptions options) => options.DedicatedPools = OnePool();

    // Windows end only as PromoteAsync moves the clock: a promoted pool stays put however slow the steps after it.
    protected override TimeProvider? Clock { get; } = new ManualClock();

    [Fact]
    public async Task A_busy_tenants_contexts_get_connections_of_its_own_that_run_no_routing_statement()
    {
        await PromoteAsync(App, "dp_a");
        using var commands = new CommandRecorder(ConnectionString);

        await using (await App.Tenants.EnterAsync("dp_a", Cancellation))
        await using (AsyncServiceScope scope = App.CreateScope())
        {
            NotesContext db = scope.ServiceProvider.GetRequiredService<NotesContext>();
            db.Notes.Add(new Note { Tenant = "dp_a", Body = "dedicated" });
            await db.SaveChangesAsync(Cancellation);
            Assert.Equal(($"{Prefix}dp_a", "dp_a,shared"), await WhoAmIAsync(db));

            // The plan's statement timeout too, as a startup parameter of the pool's connections.
            Assert.Equal(["30s"], await db.Database.SqlQueryRaw<string>("SELECT current_setting('statement_timeout') AS \"Value\"").ToArrayAsync(Cancellation));
        }

        Assert.Equal((1, 0), await Host.CountRowsAsync("dp_a"));
        Assert.Equal((0, 0), await Host.CountRowsAsync("dp_b"));
        Assert.NotEmpty(commands.Texts);
        Assert.DoesNotContain(commands.Texts, text => text.Contains("SET ", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_dedicated_connection_used_in_another_tenants_scope_or_outside_any_is_routed_like_any_other()
    {
        await PromoteAsync(App, "dp_a");
        await using TenantScope a = await App.Tenants.EnterAsync("dp_a", Cancellation);
        await using AsyncServiceScope scope = App.CreateScope();
        NotesContext db = scope.ServiceProvider.GetRequiredService<NotesContext>(); // created in dp_a's scope: its pool
        using var commands = new CommandRecorder(ConnectionString);
        Assert.Equal(($"{Prefix}dp_a", "dp_a,shared"), await WhoAmIAsync(db));
        Assert.DoesNotContain(commands.Texts, text => text.Contains("SET ", StringComparison.Ordinal)); // it is dp_a's

        await using (await App.Tenants.EnterAsync("dp_b", Cancellation))
        {
            Assert.Equal(($"{Prefix}dp_b", "dp_b,shared"), await WhoAmIAsync(db));
            db.Notes.Add(new Note { Tenant = "dp_b", Body = "through dp_a's pool" });
            await db.SaveChangesAsync(Cancellation);
        }

        await a.DisposeAsync();
        Assert.Null(TenantContext.CurrentTenant);
        Assert.Equal((AppRole, "shared"), await WhoAmIAsync(db)); // SET ROLE NONE, not back to dp_a's role

        await using (await App.Tenants.EnterAsync("dp_a", Cancellation))
        {
            Assert.Equal(($"{Prefix}dp_a", "dp_a,shared"), await WhoAmIAsync(db)); // the pool reset restored dp_a's defaults
        }

        Assert.Equal((1, 0), await Host.CountRowsAsync("dp_b"));
        Assert.Equal((0, 0), await Host.CountRowsAsync("dp_a"));
    }

    [Fact]
    public async Task A_dedicated_connection_first_opened_in_another_tenants_scope_serves_that_tenant()
    {
        await PromoteAsync(App, "dp_a");
        await using TenantScope a = await App.Tenants.EnterAsync("dp_a", Cancellation);
        await using (AsyncServiceScope writer = App.CreateScope())
        {
            NotesContext dpA = writer.ServiceProvider.GetRequiredService<NotesContext>();
            dpA.Notes.Add(new Note { Tenant = "dp_a", Body = "dp_a's" });
            await dpA.SaveChangesAsync(Cancellation);
        }

        await using AsyncServiceScope scope = App.CreateScope();
        NotesContext db = scope.ServiceProvider.GetRequiredService<NotesContext>(); // leased in dp_a's scope: its pool
        await using (await App.Tenants.EnterAsync("dp_b", Cancellation))
        {
            // Closed until now, and it opens with dp_a's defaults: each query here must route it to dp_b first.
            Assert.Empty(await db.Notes.Select(n => n.Body).ToListAsync(Cancellation));
            Assert.Equal(($"{Prefix}dp_b", "dp_b,shared"), await WhoAmIAsync(db));
            Assert.Contains($"role={Prefix}dp_a", db.Database.GetDbConnection().ConnectionString, StringComparison.Ordinal);
        }

        Assert.Equal(["dp_a's"], await db.Notes.Select(n => n.Body).ToListAsync(Cancellation)); // back in dp_a's scope
    }

    [Fact]
    public async Task A_dedicated_connection_in_another_tenants_transaction_is_routed_again_after_a_failed_batch()
    {
        await PromoteAsync(App, "dp_a");
        await using AsyncServiceScope scope = App.CreateScope();
        NotesContext db;
        await using (await App.Tenants.EnterAsync("dp_a", Cancellation))
        {
            db = scope.ServiceProvider.GetRequiredService<NotesContext>(); // created in dp_a's scope: its pool lends the connection
        }

        await using (await App.Tenants.EnterAsync("dp_b", Cancellation))
        {
            await using IDbContextTransaction transaction = await db.Database.BeginTransactionAsync(Cancellation);
            Assert.Contains($"role={Prefix}dp_a", db.Database.GetDbConnection().ConnectionString, StringComparison.Ordinal);

            // The batch fails after its route to dp_b; EF's rollback to its savepoint undoes that route too, back to
            // the connection's own defaults: dp_a's schema and role.
            var note = new Note { Tenant = "dp_b", Body = null! };
            db.Notes.Add(note);
            await Assert.ThrowsAsync<DbUpdateException>(() => db.SaveChangesAsync(Cancellation));
            note.Body = "retried";
            await db.SaveChangesAsync(Cancellation);
            await transaction.CommitAsync(Cancellation);
        }

        Assert.Equal((0, 0), await Host.CountRowsAsync("dp_a"));
        Assert.Equal((1, 0), await Host.CountRowsAsync("dp_b"));
    }

    [Fact]
    public async Task A_tenant_with_a_shortened_role_name_gets_a_dedicated_pool_in_that_role()
    {
        string tenant = "dp_" + new string('l', 57);
        string role = TenantRoleNames.NameFor(tenant, Prefix);
        Assert.Contains('~', role); // shortened: the startup parameter carries it as it is
        await App.ProvisionAsync(tenant);
        await PromoteAsync(App, tenant);

        using var commands = new CommandRecorder(ConnectionString);
        await using (await App.Tenants.EnterAsync(tenant, Cancellation))
        await using (AsyncServiceScope scope = App.CreateScope())
        {
            NotesContext db = scope.ServiceProvider.GetRequiredService<NotesContext>();
            Assert.Equal((role, $"{tenant},shared"), await WhoAmIAsync(db));
        }

        Assert.DoesNotContain(commands.Texts, text => text.Contains("SET ", StringComparison.Ordinal));
    }

    [Fact]
    public async Task More_concurrent_contexts_than_the_pool_holds_overflow_to_the_shared_pool_and_never_wait()
    {
        await PromoteAsync(App, "dp_a");
        using var commands = new CommandRecorder(ConnectionString);
        const int Contexts = 10;
        int opened = 0;

        // Every context holds its connection until all have one: a context that waited on the full dedicated pool
        // instead of overflowing would never get one, and the wait below would time out.
        var allOpen = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        (string, string)[] seen = await Task.WhenAll(Enumerable.Range(0, Contexts).Select(_ => Task.Run(async () =>
        {
            await using (await App.Tenants.EnterAsync("dp_a", Cancellation))
            await using (AsyncServiceScope scope = App.CreateScope())
            {
                NotesContext db = scope.ServiceProvider.GetRequiredService<NotesContext>();
                await db.Database.OpenConnectionAsync(Cancellation); // held until every context has one
                if (Interlocked.Increment(ref opened) == Contexts)
                {
                    allOpen.SetResult();
                }

                await allOpen.Task.WaitAsync(Eventually.Ceiling, Cancellation);
                return await WhoAmIAsync(db);
            }
        })));

        Assert.All(seen, s => Assert.Equal(($"{Prefix}dp_a", "dp_a,shared"), s));
        int routed = commands.Texts.Count(text => text.StartsWith("SET search_path", StringComparison.Ordinal));
        Assert.Equal(Contexts - PoolSize, routed); // PoolSize from dp_a's own pool, the rest routed on the shared one
        Assert.Equal(Contexts, commands.Texts.Count(text => text.Contains("array_to_string", StringComparison.Ordinal)));
    }

    [Fact]
    public async Task A_context_borrows_from_its_tenants_pool_only_once_it_needs_a_connection()
    {
        await PromoteAsync(App, "dp_a");
        await using TenantScope a = await App.Tenants.EnterAsync("dp_a", Cancellation);

        // As many contexts as the pool has connections, created in dp_a's scope and never used: they borrow nothing.
        AsyncServiceScope[] idle = [.. Enumerable.Range(0, PoolSize).Select(_ => App.CreateScope())];
        try
        {
            foreach (AsyncServiceScope scope in idle)
            {
                Assert.NotNull(scope.ServiceProvider.GetRequiredService<NotesContext>());
            }

            using var commands = new CommandRecorder(ConnectionString);
            await using AsyncServiceScope used = App.CreateScope();
            NotesContext db = used.ServiceProvider.GetRequiredService<NotesContext>();
            Assert.Equal(($"{Prefix}dp_a", "dp_a,shared"), await WhoAmIAsync(db));
            Assert.DoesNotContain(commands.Texts, text => text.Contains("SET ", StringComparison.Ordinal)); // dp_a's own pool
        }
        finally
        {
            foreach (AsyncServiceScope scope in idle)
            {
                await scope.DisposeAsync();
            }
        }
    }

    [Fact]
    public async Task A_rebalance_runs_outside_the_tenant_scope_and_the_trace_of_the_request_that_triggered_it()
    {
        // As each Npgsql span starts: the tenant a span processor would tag it with, and the trace it joins.
        var started = new ConcurrentQueue<(Activity Span, string? Tenant)>();
        using var listener = new ActivityListener
        {
            ShouldListenTo = source => source.Name == "Npgsql",
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllData,
            ActivityStarted = span => started.Enqueue((span, TenantContext.CurrentTenant)),
        };
        ActivitySource.AddActivityListener(listener);

        using (var request = new Activity("a request in dp_a's scope").Start())
        {
            await PromoteAsync(App, "dp_a");

            // The rebalance proves the new pool's first connection before any context may take one: the first span of
            // that check is the rebalance's own.
            (Activity proof, string? tenant) = started.First(s => IsPoolCheck(s.Span));
            Assert.Null(tenant);
            Assert.NotEqual(request.TraceId, proof.TraceId);
        }
    }

    [Fact]
    public async Task When_traffic_moves_the_pool_moves_with_it_within_the_configured_number_of_pools()
    {
        await PromoteAsync(App, "dp_a");
        Assert.Equal(["dp_a"], App.DataSource.Dedicated.Tenants);

        // One pool allowed: dp_b gets it only once dp_a's is demoted and disposed.
        await PromoteAsync(App, "dp_b");
        Assert.Equal(["dp_b"], App.DataSource.Dedicated.Tenants);
    }

    [Fact]
    public async Task Behind_a_pooler_that_drops_startup_parameters_dedicated_pools_turn_off_and_routing_stays_right()
    {
        CancellationToken cancellation = Cancellation;
        await PgBouncer.SetRoleDefaultSearchPathAsync(ConnectionString, "shared", cancellation);
        await using PgBouncer bouncer = await PgBouncer.StartAsync(ConnectionString, "session", cancellation);
        await using var behind = new TenancyHost(bouncer.ConnectionString, o => o.DedicatedPools = OnePool());
        await behind.ProvisionAsync("dp_c");
        Assert.True(behind.DataSource.Dedicated.Enabled); // on until a pool fails its proof, not off from the start

        int written = 0;
        await Eventually.UntilAsync(
            async () =>
            {
                await using (await behind.Tenants.EnterAsync("dp_c", cancellation))
                await using (AsyncServiceScope scope = behind.CreateScope())
                {
                    NotesContext db = scope.ServiceProvider.GetRequiredService<NotesContext>();
                    db.Notes.Add(new Note { Tenant = "dp_c", Body = "behind pgbouncer" });
                    await db.SaveChangesAsync(cancellation);
                    written++;
                }

                return !behind.DataSource.Dedicated.Enabled;
            },
            "dp_c to be tried for a dedicated pool",
            cancellation);

        Assert.Empty(behind.DataSource.Dedicated.Tenants);
        Assert.True(written > 0);
        await using (await behind.Tenants.EnterAsync("dp_c", cancellation))
        await using (AsyncServiceScope scope = behind.CreateScope())
        {
            NotesContext db = scope.ServiceProvider.GetRequiredService<NotesContext>();
            Assert.Equal(written, await db.Notes.CountAsync(cancellation));
        }

        Assert.Equal((written, 0), await Host.CountRowsAsync("dp_c"));
    }

    private static DedicatedPoolOptions OnePool() =>
        new() { Tenants = 1, PoolSize = PoolSize, Window = TimeSpan.FromSeconds(1), MinShare = 0.5, MinRate = 1 };

    // The check every physical connection of a dedicated pool runs first, on this test's database.
    private bool IsPoolCheck(Activity span) =>
        span.GetTagItem("db.query.text") is string text && text.Contains("session_user", StringComparison.Ordinal)
        && span.GetTagItem("db.npgsql.data_source") is string source
        && source.Contains($"Database={new NpgsqlConnectionStringBuilder(ConnectionString).Database}", StringComparison.Ordinal);
}
