using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Tenants.Shared.Capacity;

namespace Tenants.Shared.Tests;

/// <summary>Plan settings a deployment gets wrong stop the process at start, each with a message naming the setting.</summary>
public sealed class PlanOptionsTests
{
    public static TheoryData<string, Action<TenancyOptions>> Misconfigurations => new()
    {
        { "default plan 'gold'", o => o.DefaultPlan = "gold" },
        { "RequestsPerSecond is 0", o => o.Plans["standard"].RequestsPerSecond = 0 },
        { "RequestsPerSecond is NaN", o => o.Plans["standard"].RequestsPerSecond = double.NaN },
        { "Burst is 0", o => o.Plans["standard"].Burst = 0 },
        { "ConcurrentRequests is -1", o => o.Plans["standard"].ConcurrentRequests = -1 },
        { "ConcurrentConnections is 0", o => o.Plans["standard"].ConcurrentConnections = 0 },
        { "ConnectionWait is -00:00:01", o => o.Plans["standard"].ConnectionWait = TimeSpan.FromSeconds(-1) },
        { "ConnectionWait is 00:05:00", o => o.Plans["standard"].ConnectionWait = TimeSpan.FromMinutes(5) },
        { "StatementTimeout is -00:00:01", o => o.Plans["standard"].StatementTimeout = TimeSpan.FromSeconds(-1) },
        { "'Pro Plan'", o => o.Plans["Pro Plan"] = new TenantPlan() },
    };

    [Theory]
    [MemberData(nameof(Misconfigurations))]
    public void A_misconfigured_plan_is_refused_at_start(string named, Action<TenancyOptions> configure)
    {
        using ServiceProvider provider = new ServiceCollection().AddTenancy("Host=127.0.0.1", configure).BuildServiceProvider();
        var refused = Assert.Throws<OptionsValidationException>(() => provider.GetRequiredService<IOptions<TenancyOptions>>().Value);
        Assert.Contains("Tenancy:Plans", refused.Message, StringComparison.Ordinal);
        Assert.Contains(named, refused.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Added_plans_sit_beside_the_default_one()
    {
        using ServiceProvider provider = new ServiceCollection().AddLogging().AddTenancy("Host=127.0.0.1", o => o.Plans["pro"] = new TenantPlan { Burst = 1000 }).BuildServiceProvider();
        TenantPlans plans = provider.GetRequiredService<TenantPlans>();
        Assert.Equal(1000, plans.Limits("pro").Burst);
        Assert.Equal(new TenantPlan().Burst, plans.Limits("standard").Burst);
        Assert.Throws<ArgumentException>(() => plans.EnsureKnown("gold"));
        plans.EnsureKnown(null);
    }
}
