using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Options;
using Saas.Api.Tenancy;

namespace Saas.Api.Tests;

/// <summary>The host pattern's rules, host by host: the text around {tenant} matches without case, the tenant is one DNS label.</summary>
public sealed class HostStrategyTests
{
    [Theory]
    [InlineData("{tenant}.localhost", "acme.localhost", "acme")]
    [InlineData("{tenant}.localhost", "acme.LOCALHOST", "acme")]
    [InlineData("{tenant}.localhost", "a.b.localhost", null)] // two labels: never a guess at which one
    [InlineData("{tenant}.localhost", ".localhost", null)]
    [InlineData("{tenant}.localhost", "localhost", null)]
    [InlineData("{tenant}.localhost", "acme.localhost.evil.com", null)]
    [InlineData("{tenant}.localhost", "127.0.0.1", null)]
    [InlineData("app-{tenant}.example.com", "app-acme.example.com", "acme")]
    [InlineData("app-{tenant}.example.com", "acme.example.com", null)]
    [InlineData("api.{tenant}", "api.acme", "acme")]
    public void The_host_names_the_tenant_only_where_the_pattern_says(string pattern, string host, string? expected)
    {
        var strategy = new HostStrategy(Options.Create(new TenantResolutionOptions { HostPattern = pattern }));
        var context = new DefaultHttpContext();
        context.Request.Host = new HostString(host);
        Assert.Equal(expected, strategy.Resolve(context));
    }
}
