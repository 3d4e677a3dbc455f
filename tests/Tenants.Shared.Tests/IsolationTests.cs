using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;

namespace Tenants.Shared.Tests;

public sealed class IsolationTests(PostgresFixture postgres) : DatabaseTest(postgres)
{
    private const int TenantCount = 24;
    private const int ScopeCount = 1_200;

    [Fact]
    public async Task Concurrent_scopes_never_see_or_write_another_tenants_rows()
    {
        string[] tenants = [.. Enumerable.Range(0, TenantCount).Select(i => $"iso_{i:D2}")];
        foreach (string tenant in tenants)
        {
            await Host.ProvisionAsync(tenant);
        }

        int foreignSeen = 0;
        var written = new int[TenantCount];
        using var start = new ManualResetEventSlim();

        // All scopes start together; each writes then reads through EF Core, yielding in between so that scopes
        // interleave on the thread pool and connections pass from tenant to tenant through the pool.
        Task[] work = [.. Enumerable.Range(0, ScopeCount).Select(i => Task.Run(async () =>
        {
            int t = i % TenantCount;
            start.Wait(Cancellation);
            await using TenantScope scope = await Host.Tenants.EnterAsync(tenants[t], Cancellation);
            Assert.Equal(tenants[t], scope.Schema);
            await using AsyncServiceScope services = Host.CreateScope();
            NotesContext db = services.ServiceProvider.GetRequiredService<NotesContext>();
            db.Notes.Add(new Note { Tenant = tenants[t], Body = $"scope {i}" });
            await db.SaveChangesAsync(Cancellation);
            Interlocked.Increment(ref written[t]);
            await Task.Yield();
            List<string> owners = await db.Notes.AsNoTracking().Select(n => n.Tenant).ToListAsync(Cancellation);
            Assert.Equal(tenants[t], TenantContext.CurrentTenant);
            Interlocked.Add(ref foreignSeen, owners.Count(o => o != tenants[t]));
            Assert.Contains(tenants[t], owners);
        }, Cancellation))];
        start.Set();
        await Task.WhenAll(work);

        Assert.Equal(0, foreignSeen);
        for (int t = 0; t < TenantCount; t++)
        {
            (long all, long foreign) = await Host.CountRowsAsync(tenants[t]);
            Assert.Equal(0, foreign);
            Assert.Equal(written[t], all);
        }

        Assert.Equal(ScopeCount, written.Sum());
        Assert.Null(TenantContext.CurrentTenant);
    }
}
