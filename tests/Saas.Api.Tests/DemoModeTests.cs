using System.Net;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Saas.Api.Tenancy;

namespace Saas.Api.Tests;

/// <summary>With RequireAuthenticatedMember off (demos), anonymous callers may name a tenant; claims still bind.</summary>
public sealed class DemoModeTests(PostgresFixture postgres) : ApiTest(postgres)
{
    protected override IEnumerable<KeyValuePair<string, string?>> Settings =>
        [new("Tenancy:Resolution:RequireAuthenticatedMember", "false")];

    [Fact]
    public async Task Anonymous_callers_reach_a_named_tenant_but_claims_still_forbid_hopping()
    {
        await Api.ProvisionAsync("acme", "globex");
        using HttpClient anonymous = Api.Client(null);
        Assert.Equal(HttpStatusCode.OK, (await anonymous.GetAsync("/t/acme/tenant", Cancellation)).StatusCode);
        await AssertProblemAsync(await anonymous.GetAsync("/tenant", Cancellation), 400, "tenant-required");

        using HttpClient acme = Api.Client(Api.Tokens.Member("acme"));
        await AssertProblemAsync(await acme.GetAsync("/t/globex/tenant", Cancellation), 403, "tenant-forbidden");
    }

    [Fact]
    public void Tenant_endpoints_carry_no_authorization_policy_that_could_not_fail()
    {
        // Anonymous callers are let through either way; without a policy, none is evaluated on every request.
        RouteEndpoint[] tenantEndpoints = [.. Api.Services.GetRequiredService<EndpointDataSource>().Endpoints.OfType<RouteEndpoint>()
            .Where(e => e.Metadata.GetMetadata<TenantScopedMetadata>() is not null)];
        Assert.NotEmpty(tenantEndpoints);
        Assert.All(tenantEndpoints, e => Assert.Empty(e.Metadata.GetOrderedMetadata<IAuthorizeData>()));
    }
}
