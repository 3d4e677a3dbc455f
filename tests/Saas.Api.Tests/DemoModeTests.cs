using System.Net;

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
}
