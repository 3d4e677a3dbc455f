using System.Net;
using System.Net.Http.Json;
using Npgsql;
using Saas.Api.Model;
using Saas.Api.Tenancy;

namespace Saas.Api.Tests;

/// <summary>
/// Plans limit each tenant's requests, partitioned by the resolved tenant: one tenant over its limits gets 429 while
/// the others are served, a name a caller merely sends creates no limiter, and a plan change applies without a restart.
/// </summary>
public sealed class TenantPlanTests(PostgresFixture postgres) : ApiTest(postgres)
{
    protected override IEnumerable<KeyValuePair<string, string?>> Settings =>
    [
        // Two requests, then one per 1,000 s: no refill during a test, however slow the machine.
        new("Tenancy:Plans:tight:RequestsPerSecond", "0.001"),
        new("Tenancy:Plans:tight:Burst", "2"),
        new("Tenancy:Plans:single:ConcurrentRequests", "1"),
    ];

    [Fact]
    public async Task A_tenant_over_its_rate_gets_429_with_Retry_After_while_another_tenant_is_served()
    {
        await Api.ProvisionAsync("bursty", "steady");
        await SetPlanAsync("bursty", "tight");
        using HttpClient bursty = Api.Client(Api.Tokens.Member("bursty"));
        using HttpClient steady = Api.Client(Api.Tokens.Member("steady"));

        Assert.Equal(HttpStatusCode.OK, (await bursty.GetAsync("/tenant", Cancellation)).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await bursty.GetAsync("/tenant", Cancellation)).StatusCode);
        using HttpResponseMessage refused = await bursty.GetAsync("/tenant", Cancellation);
        await AssertProblemAsync(refused, 429, "tenant-throttled");
        Assert.True(refused.Headers.RetryAfter?.Delta >= TimeSpan.FromSeconds(1), $"Retry-After: {refused.Headers.RetryAfter}");

        for (int i = 0; i < 5; i++)
        {
            Assert.Equal(HttpStatusCode.OK, (await steady.GetAsync("/tenant", Cancellation)).StatusCode);
        }
    }

    [Fact]
    public async Task A_plan_change_takes_effect_on_the_next_request_without_a_restart()
    {
        await Api.ProvisionAsync("upgrading");
        await SetPlanAsync("upgrading", "tight");
        using HttpClient member = Api.Client(Api.Tokens.Member("upgrading"));
        await member.GetAsync("/tenant", Cancellation);
        await member.GetAsync("/tenant", Cancellation);
        await AssertProblemAsync(await member.GetAsync("/tenant", Cancellation), 429, "tenant-throttled");

        TenantResponse moved = await SetPlanAsync("upgrading", null);
        Assert.Null(moved.Plan);
        for (int i = 0; i < 5; i++)
        {
            Assert.Equal(HttpStatusCode.OK, (await member.GetAsync("/tenant", Cancellation)).StatusCode);
        }
    }

    [Fact]
    public async Task Names_a_caller_merely_sends_create_no_limiter_only_served_tenants_do()
    {
        await Api.ProvisionAsync("served");
        using HttpClient admin = Api.Client(Api.Tokens.Admin());
        for (int i = 0; i < 200; i++)
        {
            using var unknown = new HttpRequestMessage(HttpMethod.Get, "/tenant") { Headers = { { "X-Tenant", $"nobody_{i}" } } };
            Assert.Equal(HttpStatusCode.NotFound, (await admin.SendAsync(unknown, Cancellation)).StatusCode);
            using var invalid = new HttpRequestMessage(HttpMethod.Get, "/tenant") { Headers = { { "X-Tenant", $"No-Body-{i}" } } };
            Assert.Equal(HttpStatusCode.BadRequest, (await admin.SendAsync(invalid, Cancellation)).StatusCode);
        }

        TenantRateLimits limits = Api.Service<TenantRateLimits>();
        Assert.Equal(0, limits.PartitionsCreated);

        using HttpClient member = Api.Client(Api.Tokens.Member("served"));
        Assert.Equal(HttpStatusCode.OK, (await member.GetAsync("/tenant", Cancellation)).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await member.GetAsync("/tenant", Cancellation)).StatusCode);
        Assert.Equal(2, limits.PartitionsCreated); // the rate limiter's and the concurrency limiter's, once
    }

    [Fact]
    public async Task An_unknown_plan_is_refused_with_the_plans_there_are_and_nothing_changes()
    {
        await Api.ProvisionAsync("planless");
        using HttpClient admin = Api.Client(Api.Tokens.Admin());
        using HttpResponseMessage refused = await admin.PutAsJsonAsync("/tenants/planless/plan", new SetPlanRequest("platinum"), Cancellation);
        string detail = (await AssertProblemAsync(refused, 400, "plan-unknown")).GetProperty("detail").GetString()!;
        Assert.Contains("tight", detail, StringComparison.Ordinal);
        Assert.Null((await admin.GetFromJsonAsync<TenantResponse>("/tenants/planless", Cancellation))!.Plan);
    }
#if (includeSample)

    [Fact]
    public async Task A_tenant_at_its_concurrent_request_cap_is_refused_while_another_tenant_is_served_at_once()
    {
        await Api.ProvisionAsync("crowded", "calm");
        await SetPlanAsync("crowded", "single");
        using HttpClient crowded = Api.Client(Api.Tokens.Member("crowded"));
        using HttpClient calm = Api.Client(Api.Tokens.Member("calm"));

        // Holds crowded's one request in progress: its read waits on this lock.
        await using var holder = new NpgsqlConnection(Api.ConnectionString);
        await holder.OpenAsync(Cancellation);
        await using NpgsqlTransaction transaction = await holder.BeginTransactionAsync(Cancellation);
        await using (var lockTable = new NpgsqlCommand("LOCK TABLE crowded.articles IN ACCESS EXCLUSIVE MODE", holder, transaction))
        {
            await lockTable.ExecuteNonQueryAsync(Cancellation);
        }

        Task<HttpResponseMessage> held = crowded.GetAsync("/articles", Cancellation);
        await Eventually.UntilAsync(() => WaitingOnLockAsync(holder), "crowded's first request to wait on the lock", Cancellation);

        using HttpResponseMessage refused = await crowded.GetAsync("/articles", Cancellation);
        string detail = (await AssertProblemAsync(refused, 429, "tenant-throttled")).GetProperty("detail").GetString()!;
        Assert.Contains("concurrency", detail, StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.OK, (await calm.GetAsync("/articles", Cancellation)).StatusCode);

        await transaction.RollbackAsync(Cancellation);
        using HttpResponseMessage first = await held;
        Assert.Equal(HttpStatusCode.OK, first.StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await crowded.GetAsync("/articles", Cancellation)).StatusCode);
    }

    private static async Task<bool> WaitingOnLockAsync(NpgsqlConnection holder)
    {
        await using var command = new NpgsqlCommand(
            "SELECT count(*) FROM pg_locks WHERE NOT granted AND relation = 'crowded.articles'::regclass", holder);
        return (long)(await command.ExecuteScalarAsync(Cancellation))! > 0;
    }
#endif

    private async Task<TenantResponse> SetPlanAsync(string tenant, string? plan)
    {
        using HttpClient admin = Api.Client(Api.Tokens.Admin());
        using HttpResponseMessage response = await admin.PutAsJsonAsync($"/tenants/{tenant}/plan", new SetPlanRequest(plan), Cancellation);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        TenantResponse moved = (await response.Content.ReadFromJsonAsync<TenantResponse>(Cancellation))!;
        Assert.Equal(plan, moved.Plan);
        return moved;
    }
}
