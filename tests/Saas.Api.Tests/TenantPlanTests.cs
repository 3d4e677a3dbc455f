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
        new("Tenancy:Plans:oneconnection:ConcurrentConnections", "1"),
        new("Tenancy:Plans:oneconnection:ConnectionWait", "00:00:00.2"),
        new("Tenancy:Plans:brief:StatementTimeout", "00:00:00.5"),
        new("Tenancy:Plans:standard:StatementTimeout", "00:05:00"), // requests held on a lock outlast no timeout but the one tested
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

    [Theory]
    [InlineData("single", 429, "tenant-throttled", "concurrency")] // its one request in progress
    [InlineData("oneconnection", 503, "tenant-busy", "all 1 database connections")] // its one connection in use
    public async Task A_tenant_at_its_cap_is_refused_while_another_tenant_is_served(string plan, int status, string type, string limit)
    {
        string crowdedName = $"crowded_{plan}", calmName = $"calm_{plan}";
        await Api.ProvisionAsync(crowdedName, calmName);
        await SetPlanAsync(crowdedName, plan);
        using HttpClient crowded = Api.Client(Api.Tokens.Member(crowdedName));
        using HttpClient calm = Api.Client(Api.Tokens.Member(calmName));

        // Holds crowded's one request (and its connection) in progress: its read waits on this lock.
        await using NpgsqlConnection holder = await LockAsync(crowdedName);
        Task<HttpResponseMessage> held = crowded.GetAsync("/articles", Cancellation);
        await Eventually.UntilAsync(() => WaitingOnLockAsync(holder, crowdedName), "crowded's first request to wait on the lock", Cancellation);

        using HttpResponseMessage refused = await crowded.GetAsync("/articles", Cancellation);
        string detail = (await AssertProblemAsync(refused, status, type)).GetProperty("detail").GetString()!;
        Assert.Contains(limit, detail, StringComparison.Ordinal);
        Assert.Equal(TimeSpan.FromSeconds(1), refused.Headers.RetryAfter?.Delta);
        Assert.Equal(HttpStatusCode.OK, (await calm.GetAsync("/articles", Cancellation)).StatusCode);

        await holder.CloseAsync();
        using HttpResponseMessage first = await held;
        Assert.Equal(HttpStatusCode.OK, first.StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await crowded.GetAsync("/articles", Cancellation)).StatusCode);
    }

    [Fact]
    public async Task A_runaway_statement_is_cancelled_by_its_tenant_s_plan_only()
    {
        await Api.ProvisionAsync("runaway", "patient");
        await SetPlanAsync("runaway", "brief");
        using HttpClient runaway = Api.Client(Api.Tokens.Member("runaway"));
        using HttpClient patient = Api.Client(Api.Tokens.Member("patient"));

        // Both tenants' reads wait on a lock; the patient one waits first, and longer than the brief plan's timeout.
        await using NpgsqlConnection patientLock = await LockAsync("patient");
        await using NpgsqlConnection runawayLock = await LockAsync("runaway");
        Task<HttpResponseMessage> waiting = patient.GetAsync("/articles", Cancellation);
        await Eventually.UntilAsync(() => WaitingOnLockAsync(patientLock, "patient"), "patient's request to wait on the lock", Cancellation);

        using HttpResponseMessage cancelled = await runaway.GetAsync("/articles", Cancellation);
        await AssertProblemAsync(cancelled, 503, "tenant-statement-timeout");
        Assert.False(waiting.IsCompleted, "the patient tenant's request ended with the runaway one's timeout");

        await patientLock.CloseAsync();
        using HttpResponseMessage served = await waiting;
        Assert.Equal(HttpStatusCode.OK, served.StatusCode);
    }

    /// <summary>A connection holding an exclusive lock on the tenant's articles until it closes.</summary>
    private async Task<NpgsqlConnection> LockAsync(string tenant)
    {
        var holder = new NpgsqlConnection(Api.ConnectionString);
        await holder.OpenAsync(Cancellation);
        await using (var begin = new NpgsqlCommand($"BEGIN; LOCK TABLE {tenant}.articles IN ACCESS EXCLUSIVE MODE", holder))
        {
            await begin.ExecuteNonQueryAsync(Cancellation);
        }

        return holder;
    }

    private static async Task<bool> WaitingOnLockAsync(NpgsqlConnection holder, string tenant)
    {
        await using var command = new NpgsqlCommand(
            $"SELECT count(*) FROM pg_locks WHERE NOT granted AND relation = '{tenant}.articles'::regclass", holder);
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
