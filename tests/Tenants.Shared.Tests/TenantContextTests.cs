using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Tenants.Shared.Catalog;

namespace Tenants.Shared.Tests;

public sealed class TenantContextTests(PostgresFixture postgres) : DatabaseTest(postgres)
{
    public override async ValueTask InitializeAsync()
    {
        await base.InitializeAsync();
        foreach (string tenant in (string[])["outer", "inner", "left", "right"])
        {
            await Host.ProvisionAsync(tenant);
            await using TenantScope scope = await Host.Tenants.EnterAsync(tenant, Cancellation);
            await using AsyncServiceScope services = Host.CreateScope();
            NotesContext db = services.ServiceProvider.GetRequiredService<NotesContext>();
            db.Notes.Add(new Note { Tenant = tenant, Body = "seed" });
            await db.SaveChangesAsync(Cancellation);
        }
    }

    [Fact]
    public void Current_tenant_is_null_outside_any_scope() => Assert.Null(TenantContext.CurrentTenant);

    [Fact]
    public async Task Nested_sync_scopes_restore_the_outer_tenant_and_route_each_level()
    {
        using (TenantScope outer = Host.Tenants.Enter("outer"))
        {
            Assert.Equal("outer", outer.Schema);
            Assert.Equal("outer", await OwnerSeenAsync());
            using (TenantScope inner = Host.Tenants.Enter("inner"))
            {
                Assert.Equal("inner", TenantContext.CurrentTenant);
                Assert.Equal("inner", await OwnerSeenAsync());
            }

            Assert.Equal("outer", TenantContext.CurrentTenant);
            Assert.Equal("outer", await OwnerSeenAsync());
        }

        Assert.Null(TenantContext.CurrentTenant);
    }

    [Fact]
    public async Task Nested_async_scopes_restore_the_outer_tenant()
    {
        await using (TenantScope outer = await Host.Tenants.EnterAsync("outer", Cancellation))
        {
            await using (await Host.Tenants.EnterAsync("inner", Cancellation))
            {
                await Task.Yield();
                Assert.Equal("inner", TenantContext.CurrentTenant);
                Assert.Equal("inner", await OwnerSeenAsync());
            }

            Assert.Equal("outer", TenantContext.CurrentTenant);
            Assert.Equal("outer", await OwnerSeenAsync());
        }

        Assert.Null(TenantContext.CurrentTenant);
    }

    [Fact]
    public async Task Async_entry_that_completes_later_still_sets_the_callers_tenant()
    {
        // A fresh host has nothing cached, so the registry look-up really goes to the database and completes later.
        await using var cold = new TenancyHost(ConnectionString);
        await using TenantScope scope = await cold.Tenants.EnterAsync("left", Cancellation);
        Assert.Equal("left", TenantContext.CurrentTenant);
    }

    [Fact]
    public async Task Work_started_inside_a_scope_keeps_its_tenant_and_siblings_never_see_each_other()
    {
        using var bothInside = new Barrier(2);

        async Task<string?> RunAs(string tenant)
        {
            await using TenantScope scope = await Host.Tenants.EnterAsync(tenant, Cancellation);
            bothInside.SignalAndWait(Cancellation); // both scopes are open at this moment
            string? child = await Task.Run(() => TenantContext.CurrentTenant, Cancellation);
            Assert.Equal(tenant, child);
            return await OwnerSeenAsync();
        }

        string?[] seen = await Task.WhenAll(Task.Run(() => RunAs("left")), Task.Run(() => RunAs("right")));
        Assert.Equal(["left", "right"], seen);
        Assert.Null(TenantContext.CurrentTenant);
    }

    [Fact]
    public async Task Unknown_tenant_is_refused_on_entry_and_nothing_is_entered()
    {
        var sync = Assert.Throws<UnknownTenantException>(() => Host.Tenants.Enter("nobody"));
        Assert.Equal("nobody", sync.TenantName);
        var async = await Assert.ThrowsAsync<UnknownTenantException>(async () => await Host.Tenants.EnterAsync("nobody", Cancellation));
        Assert.Contains("not registered", async.Message, StringComparison.Ordinal);
        Assert.Null(TenantContext.CurrentTenant);
        Assert.DoesNotContain("nobody", await Host.SchemasAsync());
    }

    [Fact]
    public async Task A_record_that_is_not_served_or_not_a_tenant_name_is_refused_before_anything_is_entered()
    {
        TenantRecord record = Assert.IsType<TenantRecord>(await Host.Catalog.FindAsync("outer", Cancellation));

        TenantRecord[] refused =
        [
            record with { Status = TenantStatus.Deactivated },
            record with { Status = TenantStatus.Deleted },
            record with { State = MigrationState.Failed },
        ];
        foreach (TenantRecord unserved in refused)
        {
            var e = Assert.Throws<InvalidOperationException>(() => Host.Tenants.Enter(unserved));
            Assert.Contains("not served", e.Message, StringComparison.Ordinal);
            Assert.Null(TenantContext.CurrentTenant);
        }

        Assert.Throws<InvalidTenantNameException>(() => Host.Tenants.Enter(record with { Name = "pg_catalog" }));
        Assert.Throws<ArgumentNullException>(() => Host.Tenants.Enter((TenantRecord)null!));
        Assert.Null(TenantContext.CurrentTenant);
    }

    [Fact]
    public void Disposing_scopes_out_of_order_or_twice_never_brings_a_closed_scope_back()
    {
        TenantScope outer = Host.Tenants.Enter("outer");
        TenantScope inner = Host.Tenants.Enter("inner");
        outer.Dispose(); // out of order: inner is still current and stays so
        Assert.Equal("inner", TenantContext.CurrentTenant);
        inner.Dispose();
        Assert.Null(TenantContext.CurrentTenant); // outer is closed already: there is no tenant to go back to

        using (Host.Tenants.Enter("left"))
        {
            inner.Dispose();
            outer.Dispose(); // twice: changes nothing
            Assert.Equal("left", TenantContext.CurrentTenant);
        }

        Assert.Null(TenantContext.CurrentTenant);
    }

    // Which tenant wrote the rows this flow's connection sees: proves the routing, not just the AsyncLocal.
    private async Task<string?> OwnerSeenAsync()
    {
        await using AsyncServiceScope services = Host.CreateScope();
        NotesContext db = services.ServiceProvider.GetRequiredService<NotesContext>();
        List<string> owners = await db.Notes.Select(n => n.Tenant).Distinct().ToListAsync(Cancellation);
        return Assert.Single(owners);
    }
}
