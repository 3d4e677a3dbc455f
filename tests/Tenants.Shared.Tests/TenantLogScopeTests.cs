using System.Diagnostics;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Testing;

namespace Tenants.Shared.Tests;

/// <summary>Log lines carry the tenant of the scope they are written in, with no BeginScope, wherever the flow goes.</summary>
public sealed partial class TenantLogScopeTests : IDisposable
{
    private readonly IHost _host;
    private readonly TenantContext _tenants;
    private readonly ILogger _logger;

    public TenantLogScopeTests()
    {
        // A real host's logging (its activity tracking included) and the tenancy's registration; no database is reached.
        HostApplicationBuilder builder = Host.CreateApplicationBuilder();
        builder.Logging.ClearProviders();
        builder.Services.AddFakeLogging().AddTenancy("Host=127.0.0.1;Database=unused");
        _host = builder.Build();
        _tenants = _host.Services.GetRequiredService<TenantContext>();
        _logger = _host.Services.GetRequiredService<ILogger<TenantLogScopeTests>>();
    }

    private FakeLogCollector Logs => _host.Services.GetFakeLogCollector();

    [Fact]
    public async Task Lines_written_inside_a_tenant_scope_carry_its_tenant_and_no_others_do()
    {
        Write(_logger, "before");
        using (_tenants.Enter(Served("acme")))
        {
            Write(_logger, "in acme");
            using (_tenants.Enter(Served("globex")))
            {
                Write(_logger, "in globex");
            }

            await Task.Run(() => Write(_logger, "in a task started in acme"), TestContext.Current.CancellationToken);
            Write(_logger, "back in acme");
        }

        Write(_logger, "after");

        Assert.Equal(
            ["before:", "in acme:acme", "in globex:globex", "in a task started in acme:acme", "back in acme:acme", "after:"],
            Logs.GetSnapshot().Select(r => $"{r.Message}:{string.Join(",", TenantsOf(r))}"));
    }

    [Fact]
    public async Task Concurrent_flows_each_log_their_own_tenant()
    {
        CancellationToken cancellation = TestContext.Current.CancellationToken;
        await Task.WhenAll(Enumerable.Range(0, 32).Select(i => Task.Run(async () =>
        {
            string tenant = $"t{i}";
            using TenantScope scope = _tenants.Enter(Served(tenant));
            await Task.Yield();
            Write(_logger, tenant);
            await Task.Delay(i % 4, cancellation);
            Write(_logger, tenant);
        }, cancellation)));

        IReadOnlyList<FakeLogRecord> lines = Logs.GetSnapshot();
        Assert.Equal(64, lines.Count);
        Assert.All(lines, r => Assert.Equal([r.Message], TenantsOf(r)));
    }

    [Fact]
    public void Scopes_the_app_begins_and_the_host_s_activity_tracking_are_kept_inside_the_tenant_s()
    {
        using Activity activity = new Activity("work").Start();
        using (_tenants.Enter(Served("acme")))
        using (_logger.BeginScope(new Dictionary<string, object?> { ["OrderId"] = 42 }))
        {
            Write(_logger, "placed");
        }

        FakeLogRecord line = Assert.Single(Logs.GetSnapshot());
        KeyValuePair<string, object?>[] pairs = [.. line.Scopes.OfType<IEnumerable<KeyValuePair<string, object?>>>().SelectMany(s => s)];
        Assert.Equal(["acme"], TenantsOf(line));
        Assert.Equal("tenant.id", pairs[0].Key); // the tenant's scope is the outermost
        Assert.Contains(new KeyValuePair<string, object?>("OrderId", 42), pairs);
        Assert.Contains(pairs, p => p.Key == "TraceId" && Equals(p.Value?.ToString(), activity.TraceId.ToHexString()));
    }

    public void Dispose() => _host.Dispose();

    [LoggerMessage(Level = LogLevel.Information, Message = "{Line}")]
    private static partial void Write(ILogger logger, string line);

    private static string[] TenantsOf(FakeLogRecord record) =>
        [.. record.Scopes.OfType<IEnumerable<KeyValuePair<string, object?>>>().SelectMany(s => s).Where(p => p.Key == "tenant.id").Select(p => (string)p.Value!)];

    private static TenantRecord Served(string name) =>
        new(name, name, MigrationState.Ready, null, 0, null, DateTimeOffset.UnixEpoch, DateTimeOffset.UnixEpoch, TenantStatus.Active, null, null);
}
