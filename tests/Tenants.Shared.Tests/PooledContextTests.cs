using System.Data;
using System.Data.Common;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Infrastructure;
using Microsoft.EntityFrameworkCore.Storage;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;
using Postgres.Testing;
using Tenants.Shared.EntityFramework;
using Tenants.Shared.Routing;

namespace Tenants.Shared.Tests;

/// <summary>
/// Pooled tenant contexts, with the shipped least-privilege setup (a connection's role shows its routing): the app's
/// pool keeps one context, so every lease below is the same context object, and pc_a holds a dedicated pool of one
/// connection, so a lease that kept it would show. The pools' clock moves only as pc_a is promoted: once it holds its
/// pool, no window ends, however long a step takes on a busy machine.
/// </summary>
public sealed class PooledContextTests(PostgresFixture postgres) : LeastPrivilegedAppTest(postgres, "pc_a", "pc_b")
{
    protected override int ContextPoolSize => 1;

    protected override TimeProvider? Clock { get; } = new ManualClock();

    protected override void ConfigureApp(TenancyOptions options) =>
        options.DedicatedPools = new DedicatedPoolOptions { Tenants = 1, PoolSize = 1, Window = TimeSpan.FromSeconds(1), MinShare = 0.5, MinRate = 1 };

    [Fact]
    public async Task A_context_leased_in_one_tenants_scope_and_then_in_anothers_reads_and_writes_only_the_second()
    {
        await PromoteAsync(App, "pc_a");
        NotesContext first;
        await using (await App.Tenants.EnterAsync("pc_a", Cancellation))
        await using (AsyncServiceScope scope = App.CreateScope())
        {
            first = scope.ServiceProvider.GetRequiredService<NotesContext>();
            Assert.Equal(($"{Prefix}pc_a", "pc_a,shared"), await WhoAmIAsync(first)); // pc_a's dedicated connection, kept
            first.Notes.Add(new Note { Tenant = "pc_a", Body = "first lease" });
            await first.SaveChangesAsync(Cancellation);
            _ = await first.Database.BeginTransactionAsync(Cancellation);
            first.Notes.Add(new Note { Tenant = "pc_a", Body = "never committed" });
            await first.SaveChangesAsync(Cancellation); // the lease ends inside the transaction: rolled back
        }

        await using (await App.Tenants.EnterAsync("pc_b", Cancellation))
        await using (AsyncServiceScope scope = App.CreateScope())
        {
            NotesContext second = scope.ServiceProvider.GetRequiredService<NotesContext>();
            Assert.Same(first, second);
            Assert.Equal(($"{Prefix}pc_b", "pc_b,shared"), await WhoAmIAsync(second));
            Assert.Empty(await second.Notes.ToListAsync(Cancellation)); // nothing tracked or read from pc_a
            second.Notes.Add(new Note { Tenant = "pc_b", Body = "second lease" });
            await second.SaveChangesAsync(Cancellation);
            await using IDbContextTransaction transaction = await second.Database.BeginTransactionAsync(Cancellation);
            second.Notes.Add(new Note { Tenant = "pc_b", Body = "second lease, in a transaction" });
            await second.SaveChangesAsync(Cancellation);
            await transaction.CommitAsync(Cancellation);
            Assert.Equal(["pc_b", "pc_b"], await second.Notes.AsNoTracking().Select(n => n.Tenant).ToListAsync(Cancellation));
        }

        Assert.Equal((1, 0), await Host.CountRowsAsync("pc_a"));
        Assert.Equal((2, 0), await Host.CountRowsAsync("pc_b"));
    }

    [Fact]
    public async Task A_context_returned_to_the_pool_gives_back_its_tenants_dedicated_connection()
    {
        await PromoteAsync(App, "pc_a");
        await using (await App.Tenants.EnterAsync("pc_a", Cancellation))
        using (IServiceScope scope = App.Services.CreateScope()) // disposed synchronously: EF Core's synchronous return
        {
            NotesContext db = scope.ServiceProvider.GetRequiredService<NotesContext>();
            Assert.Equal(($"{Prefix}pc_a", "pc_a,shared"), await WhoAmIAsync(db));
            Assert.False(await CanRentAsync("pc_a")); // its only connection is lent to the context
        }

        // Returned while pc_a's scope was still current: the pool's one connection is free again.
        Assert.True(await CanRentAsync("pc_a"));

        // Leased again in pc_b's scope, the context takes a connection of the main pool, not pc_a's.
        await using (await App.Tenants.EnterAsync("pc_b", Cancellation))
        await using (AsyncServiceScope scope = App.CreateScope())
        {
            NotesContext db = scope.ServiceProvider.GetRequiredService<NotesContext>();
            Assert.Equal(($"{Prefix}pc_b", "pc_b,shared"), await WhoAmIAsync(db));
            Assert.True(await CanRentAsync("pc_a"));
        }
    }

    [Fact]
    public async Task A_main_pool_connection_object_serves_the_next_lease_unless_its_tenant_holds_a_dedicated_pool()
    {
        await PromoteAsync(App, "pc_a");
        DbConnection kept;
        await using (await App.Tenants.EnterAsync("pc_b", Cancellation))
        using (IServiceScope scope = App.Services.CreateScope()) // EF Core's synchronous return
        {
            NotesContext db = scope.ServiceProvider.GetRequiredService<NotesContext>();
            Assert.Equal(($"{Prefix}pc_b", "pc_b,shared"), await WhoAmIAsync(db));
            kept = db.Database.GetDbConnection();
        }

        // Outside any scope: the same object, closed on return, routed anew as it opens.
        Assert.Equal(ConnectionState.Closed, kept.State);
        await using (AsyncServiceScope scope = App.CreateScope()) // and the asynchronous one
        {
            NotesContext db = scope.ServiceProvider.GetRequiredService<NotesContext>();
            Assert.Same(kept, db.Database.GetDbConnection());
            Assert.Equal((AppRole, "shared"), await WhoAmIAsync(db));
        }

        await using (await App.Tenants.EnterAsync("pc_b", Cancellation))
        await using (AsyncServiceScope scope = App.CreateScope())
        {
            NotesContext db = scope.ServiceProvider.GetRequiredService<NotesContext>();
            Assert.Same(kept, db.Database.GetDbConnection());
            Assert.Equal(($"{Prefix}pc_b", "pc_b,shared"), await WhoAmIAsync(db));
        }

        // In pc_a's scope: pc_a's dedicated connection instead.
        await using (await App.Tenants.EnterAsync("pc_a", Cancellation))
        await using (AsyncServiceScope scope = App.CreateScope())
        {
            NotesContext db = scope.ServiceProvider.GetRequiredService<NotesContext>();
            Assert.NotSame(kept, db.Database.GetDbConnection());
            Assert.Equal(($"{Prefix}pc_a", "pc_a,shared"), await WhoAmIAsync(db));
            Assert.False(await CanRentAsync("pc_a")); // its only connection is lent to the context
        }

        Assert.True(await CanRentAsync("pc_a"));
    }

    [Fact]
    public async Task A_dedicated_connection_object_serves_its_tenants_next_lease_while_its_pool_has_a_place()
    {
        await PromoteAsync(App, "pc_a");
        DbConnection kept;
        await using (await App.Tenants.EnterAsync("pc_a", Cancellation))
        {
            await using (AsyncServiceScope scope = App.CreateScope())
            {
                NotesContext db = scope.ServiceProvider.GetRequiredService<NotesContext>();
                Assert.Equal(($"{Prefix}pc_a", "pc_a,shared"), await WhoAmIAsync(db));
                kept = db.Database.GetDbConnection();
            }

            Assert.True(await CanRentAsync("pc_a")); // the object is kept, its place given back
            await using (AsyncServiceScope scope = App.CreateScope())
            {
                NotesContext db = scope.ServiceProvider.GetRequiredService<NotesContext>();
                Assert.Same(kept, db.Database.GetDbConnection());
                Assert.False(await CanRentAsync("pc_a")); // lent again to this lease
                using var commands = new CommandRecorder(ConnectionString);
                Assert.Equal(($"{Prefix}pc_a", "pc_a,shared"), await WhoAmIAsync(db));
                Assert.DoesNotContain(commands.Texts, text => text.Contains("SET ", StringComparison.Ordinal)); // pc_a's own pool
            }

            // With the pool's one place taken, the next lease leaves the object and takes a main-pool connection.
            DedicatedTenantPools.DedicatedConnection? taken = App.DataSource.Dedicated.TryRent("pc_a");
            Assert.NotNull(taken);
            try
            {
                await using AsyncServiceScope scope = App.CreateScope();
                NotesContext db = scope.ServiceProvider.GetRequiredService<NotesContext>();
                Assert.Equal(($"{Prefix}pc_a", "pc_a,shared"), await WhoAmIAsync(db));
                Assert.NotSame(kept, db.Database.GetDbConnection());
            }
            finally
            {
                taken.Release();
            }
        }
    }

    [Fact]
    public async Task A_context_of_a_pooled_factory_goes_back_to_the_pool_clean_when_its_user_disposes_it()
    {
        // EF Core's own pooled factory over the registered options: disposing the context returns it to the pool.
        var factory = new PooledDbContextFactory<NotesContext>(App.Services.GetRequiredService<DbContextOptions<NotesContext>>(), poolSize: 1);
        NotesContext first;
        await using (await App.Tenants.EnterAsync("pc_b", Cancellation))
        {
            first = await factory.CreateDbContextAsync(Cancellation);
            Assert.Equal(($"{Prefix}pc_b", "pc_b,shared"), await WhoAmIAsync(first));
            await first.DisposeAsync();
        }

        await using NotesContext second = await factory.CreateDbContextAsync(Cancellation);
        Assert.Same(first, second);
        Assert.Equal((AppRole, "shared"), await WhoAmIAsync(second));
    }

    [Fact]
    public async Task A_context_returned_to_the_pool_holds_no_connection()
    {
        // A main pool of one connection: a context in the pool that still held it would make this open wait.
        var single = new NpgsqlConnectionStringBuilder(AppConnectionString) { MaxPoolSize = 1, Timeout = 30 };
        await using var host = new TenancyHost(single.ConnectionString, o => (o.TenantRoles, o.TenantRolePrefix) = (true, Prefix), contextPoolSize: 1);
        await using (await host.Tenants.EnterAsync("pc_b", Cancellation))
        {
            await using (AsyncServiceScope scope = host.CreateScope())
            {
                NotesContext db = scope.ServiceProvider.GetRequiredService<NotesContext>();
                Assert.Equal(($"{Prefix}pc_b", "pc_b,shared"), await WhoAmIAsync(db)); // kept open while pc_b is current
                Assert.Equal(ConnectionState.Open, db.Database.GetDbConnection().State);
            }

            await using NpgsqlConnection raw = await host.DataSource.OpenConnectionAsync(Cancellation);
            await using NpgsqlCommand whoAmI = raw.CreateCommand();
            whoAmI.CommandText = "SELECT current_user";
            Assert.Equal($"{Prefix}pc_b", await whoAmI.ExecuteScalarAsync(Cancellation));
        }
    }

    [Fact]
    public async Task A_lease_outside_any_scope_sees_only_the_shared_schema()
    {
        NotesContext first;
        await using (await App.Tenants.EnterAsync("pc_b", Cancellation))
        await using (AsyncServiceScope scope = App.CreateScope())
        {
            first = scope.ServiceProvider.GetRequiredService<NotesContext>();
            Assert.Equal(0, await first.Notes.CountAsync(Cancellation));
        }

        await using (AsyncServiceScope scope = App.CreateScope())
        {
            NotesContext db = scope.ServiceProvider.GetRequiredService<NotesContext>();
            Assert.Same(first, db);
            Assert.Equal((AppRole, "shared"), await WhoAmIAsync(db));
            PostgresException missing = await Assert.ThrowsAsync<PostgresException>(() => db.Notes.CountAsync(Cancellation));
            Assert.Equal(PostgresErrorCodes.UndefinedTable, missing.SqlState);
        }
    }

    [Fact]
    public async Task The_pool_keeps_at_most_its_size_of_contexts()
    {
        await using var host = new TenancyHost(AppConnectionString, o => (o.TenantRoles, o.TenantRolePrefix) = (true, Prefix), contextPoolSize: 2);
        HashSet<NotesContext> firstRound = await LeaseAtOnceAsync(host, 4);
        HashSet<NotesContext> secondRound = await LeaseAtOnceAsync(host, 4);

        Assert.Equal(4, firstRound.Count);
        Assert.Equal(2, secondRound.Count(firstRound.Contains)); // two came back from the pool, two were new
    }

    [Fact]
    public async Task An_earlier_leases_scope_no_longer_reaches_the_context()
    {
        NotesContext first;
        TenantScope earlier = await App.Tenants.EnterAsync("pc_b", Cancellation);
        await using (earlier)
        await using (AsyncServiceScope scope = App.CreateScope())
        {
            first = scope.ServiceProvider.GetRequiredService<NotesContext>();
            await first.Notes.CountAsync(Cancellation);
        }

        await using (await App.Tenants.EnterAsync("pc_b", Cancellation))
        {
            await using AsyncServiceScope later = App.CreateScope();
            NotesContext db = later.ServiceProvider.GetRequiredService<NotesContext>();
            Assert.Same(first, db); // the same context, on a later lease
            await db.Notes.CountAsync(Cancellation);
            earlier.ReleaseConnections(); // a late release by the first request's scope
            Assert.Equal(ConnectionState.Open, db.Database.GetDbConnection().State);
        }
    }

    /// <summary>Whether the tenant's dedicated pool has a connection to lend, asked in its scope (as a context's first use asks).</summary>
    private async Task<bool> CanRentAsync(string tenant)
    {
        await using (await App.Tenants.EnterAsync(tenant, Cancellation))
        {
            DedicatedTenantPools.DedicatedConnection? connection = App.DataSource.Dedicated.TryRent(tenant);
            connection?.Release();
            return connection is not null;
        }
    }

    /// <summary>Leases <paramref name="count"/> contexts in scopes open at once, in pc_b's scope, then returns them all.</summary>
    private static async Task<HashSet<NotesContext>> LeaseAtOnceAsync(TenancyHost host, int count)
    {
        AsyncServiceScope[] scopes = [.. Enumerable.Range(0, count).Select(_ => host.CreateScope())];
        var contexts = new HashSet<NotesContext>(ReferenceEqualityComparer.Instance);
        await using (await host.Tenants.EnterAsync("pc_b", Cancellation))
        {
            foreach (AsyncServiceScope scope in scopes)
            {
                NotesContext db = scope.ServiceProvider.GetRequiredService<NotesContext>();
                Assert.Equal(0, await db.Notes.CountAsync(Cancellation));
                contexts.Add(db);
            }
        }

        foreach (AsyncServiceScope scope in scopes)
        {
            await scope.DisposeAsync();
        }

        return contexts;
    }
}
