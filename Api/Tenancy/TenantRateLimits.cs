using System.Diagnostics;
using System.Threading.RateLimiting;
using Microsoft.AspNetCore.RateLimiting;
using Tenants.Shared;
using Tenants.Shared.Capacity;

namespace Saas.Api.Tenancy;

/// <summary>
/// Each tenant's requests limited by its plan: a token bucket (rate and burst) chained with a cap on requests in
/// progress. Partitioned by the resolved tenant only, so a name a caller merely sent (unknown, refused) never creates
/// a partition, and partitions stay bounded by the tenants served lately (idle ones are dropped by the limiter).
/// Runs inside the tenant's scope, after resolution.
/// </summary>
public sealed partial class TenantRateLimits : IDisposable
{
    private readonly TenantPlans _plans;
    private readonly ILogger<TenantRateLimits> _logger;
    private readonly PartitionedRateLimiter<HttpContext> _rate;
    private readonly PartitionedRateLimiter<HttpContext> _concurrency;
    private int _partitions;

    public TenantRateLimits(TenantPlans plans, ILogger<TenantRateLimits> logger)
    {
        _plans = plans;
        _logger = logger;
        _rate = PartitionedRateLimiter.Create<HttpContext, (string, string)>(context => Partition(context, RateLimiter));
        _concurrency = PartitionedRateLimiter.Create<HttpContext, (string, string)>(context => Partition(context, ConcurrencyLimiter));
        Limiter = PartitionedRateLimiter.CreateChained(_rate, _concurrency);
    }

    /// <summary>The limiter the rate-limiting middleware runs every request through.</summary>
    public PartitionedRateLimiter<HttpContext> Limiter { get; }

    /// <summary>How many tenant partitions were created: one per tenant and plan served, per limiter.</summary>
    internal int PartitionsCreated => Volatile.Read(ref _partitions);

    /// <summary>Answers a refused request with a 429 problem and its Retry-After; counts it by plan, never by tenant.</summary>
    public async ValueTask RejectAsync(OnRejectedContext rejected, CancellationToken cancellationToken)
    {
        HttpContext context = rejected.HttpContext;
        ResolvedTenant? tenant = context.Features.Get<ResolvedTenant>();
        bool rate = rejected.Lease.TryGetMetadata(MetadataName.RetryAfter, out TimeSpan retryAfter);
        string limit = rate ? "rate" : "concurrency";
        int seconds = rate ? (int)Math.Ceiling(Math.Max(retryAfter.TotalSeconds, 1)) : 1;

        TenancyTelemetry.RequestsThrottled.Add(1, new TagList { { "tenant_saas.plan", tenant?.Plan }, { "tenant_saas.limit", limit } });
        Activity.Current?.SetTag("tenant_saas.throttled", limit);
        LogThrottled(tenant?.Record.Name, tenant?.Plan, limit);

        context.Response.Headers.RetryAfter = seconds.ToString(System.Globalization.CultureInfo.InvariantCulture);
        await TenantProblems.Throttled(tenant?.Record.Name ?? "(unknown)", tenant?.Plan ?? "(none)", limit, seconds).ExecuteAsync(context);
    }

    public void Dispose()
    {
        Limiter.Dispose();
        _rate.Dispose();
        _concurrency.Dispose();
    }

    private RateLimitPartition<(string, string)> Partition(HttpContext context, Func<TenantPlan, RateLimiter> create)
    {
        if (context.Features.Get<ResolvedTenant>() is not { } tenant)
        {
            return RateLimitPartition.GetNoLimiter<(string, string)>(default);
        }

        // Keyed by plan too: a tenant moved to another plan gets a limiter with that plan's limits at once.
        return RateLimitPartition.Get((tenant.Record.Name, tenant.Plan), key =>
        {
            Interlocked.Increment(ref _partitions);
            return create(_plans.Limits(key.Item2));
        });
    }

    private static TokenBucketRateLimiter RateLimiter(TenantPlan plan)
    {
        // Whole tokens per period, at most ten periods a second, so that the bucket refills smoothly at any rate.
        int tokens = Math.Max(1, (int)Math.Round(plan.RequestsPerSecond / 10));
        return new TokenBucketRateLimiter(new TokenBucketRateLimiterOptions
        {
            TokenLimit = plan.Burst,
            TokensPerPeriod = tokens,
            ReplenishmentPeriod = TimeSpan.FromSeconds(tokens / plan.RequestsPerSecond),
            QueueLimit = 0,
            AutoReplenishment = false, // the partitioned limiter replenishes every partition on one timer
        });
    }

    private static ConcurrencyLimiter ConcurrencyLimiter(TenantPlan plan) =>
        new(new ConcurrencyLimiterOptions { PermitLimit = plan.ConcurrentRequests, QueueLimit = 0 });

    [LoggerMessage(Level = LogLevel.Warning, Message = "Request of tenant {Tenant} (plan {Plan}) refused: over its {Limit} limit")]
    private partial void LogThrottled(string? tenant, string? plan, string limit);
}
