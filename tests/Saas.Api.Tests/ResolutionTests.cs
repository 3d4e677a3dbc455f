using System.Net;
using System.Net.Http.Json;
using Microsoft.Extensions.Options;
using Saas.Api.Model;
using Tenants.Shared;

namespace Saas.Api.Tests;

/// <summary>How a request finds its tenant, under each order a generated app can ship with (the nested classes).</summary>
public abstract class ResolutionTests(PostgresFixture postgres, string[] strategies) : ApiTest(postgres)
{
    protected override IReadOnlyList<string> Strategies => strategies;

    public override async ValueTask InitializeAsync()
    {
        await base.InitializeAsync();
        await Api.ProvisionAsync("acme", "globex");
    }

    [Fact]
    public async Task Claim_strategy_resolves_the_members_tenant()
    {
        using HttpClient acme = Api.Client(Api.Tokens.Member("acme"));
        Assert.Equal("acme", await ResolvedAsync(acme, "/tenant"));
    }

    [Fact]
    public async Task Header_strategy_resolves()
    {
        using HttpClient admin = Api.Client(Api.Tokens.Admin());
        admin.DefaultRequestHeaders.Add("X-Tenant", "globex");
        Assert.Equal("globex", await ResolvedAsync(admin, "/tenant"));
    }

    [Fact]
    public async Task Route_strategy_resolves()
    {
        using HttpClient admin = Api.Client(Api.Tokens.Admin());
        Assert.Equal("acme", await ResolvedAsync(admin, "/t/acme/tenant"));
        Assert.Equal("globex", await ResolvedAsync(admin, "/t/globex/tenant"));
    }

    [Fact]
    public async Task Host_strategy_resolves()
    {
        using HttpClient admin = Api.Client(Api.Tokens.Admin());
        admin.DefaultRequestHeaders.Host = "globex.localhost";
        Assert.Equal("globex", await ResolvedAsync(admin, "/tenant"));
    }

    [Fact]
    public async Task The_configured_order_holds_the_first_strategy_that_yields_wins()
    {
        // An admin (no tenant claim): the route names acme, the host and header globex.
        using HttpClient admin = Api.Client(Api.Tokens.Admin());
        admin.DefaultRequestHeaders.Host = "globex.localhost";
        admin.DefaultRequestHeaders.Add("X-Tenant", "globex");
        Assert.Equal(First("route", "host", "header") == "route" ? "acme" : "globex", await ResolvedAsync(admin, "/t/acme/tenant"));

        // No route: the host names globex, the header acme.
        using HttpClient hostAndHeader = Api.Client(Api.Tokens.Admin());
        hostAndHeader.DefaultRequestHeaders.Host = "globex.localhost";
        hostAndHeader.DefaultRequestHeaders.Add("X-Tenant", "acme");
        Assert.Equal(First("host", "header") == "host" ? "globex" : "acme", await ResolvedAsync(hostAndHeader, "/tenant"));
    }

    [Fact]
    public async Task No_tenant_on_a_tenant_scoped_endpoint_is_400_never_shared_data()
    {
        using HttpClient admin = Api.Client(Api.Tokens.Admin());
        await AssertProblemAsync(await admin.GetAsync("/tenant", Cancellation), 400, "tenant-required");
    }

    [Theory]
    [InlineData("Acme")]
    [InlineData("acme;drop")]
    [InlineData("pg_catalog")]
    public async Task A_syntactically_invalid_name_is_400(string name)
    {
        using HttpClient admin = Api.Client(Api.Tokens.Admin());
        admin.DefaultRequestHeaders.TryAddWithoutValidation("X-Tenant", name);
        await AssertProblemAsync(await admin.GetAsync("/tenant", Cancellation), 400, "tenant-invalid");
    }

    [Fact]
    public async Task The_shared_schemas_name_is_never_a_tenant()
    {
        using HttpClient admin = Api.Client(Api.Tokens.Admin());
        admin.DefaultRequestHeaders.Add("X-Tenant", Api.Service<IOptions<TenancyOptions>>().Value.SharedSchema);
        await AssertProblemAsync(await admin.GetAsync("/tenant", Cancellation), 400, "tenant-invalid");
    }

    [Fact]
    public async Task A_valid_but_unknown_tenant_is_404()
    {
        using HttpClient admin = Api.Client(Api.Tokens.Admin());
        await AssertProblemAsync(await admin.GetAsync("/t/initech/tenant", Cancellation), 404, "tenant-not-found");
    }

    [Fact]
    public async Task A_registered_tenant_not_yet_migrated_is_503_not_a_failure_inside()
    {
        // The Worker hears of the new tenant but waits on its migration lock, held here: it stays pending while the test looks.
        await using var migrationLock = new Npgsql.NpgsqlConnection(Api.ConnectionString);
        await migrationLock.OpenAsync(Cancellation);
        await using (var hold = new Npgsql.NpgsqlCommand(TenantSchemaLock.LockSql, migrationLock) { Parameters = { new() { Value = "pending_co" } } })
        {
            await hold.ExecuteNonQueryAsync(Cancellation);
        }

        await Api.Service<Tenants.Shared.Catalog.ITenantCatalog>().CreateAsync("pending_co", "Pending Co", Cancellation);
        using HttpClient admin = Api.Client(Api.Tokens.Admin());
        await AssertProblemAsync(await admin.GetAsync("/t/pending_co/tenant", Cancellation), 503, "tenant-not-ready");
    }

    [Fact]
    public async Task Anonymous_callers_get_401_and_learn_nothing_about_tenants()
    {
        using HttpClient anonymous = Api.Client(null);
        Assert.Equal(HttpStatusCode.Unauthorized, (await anonymous.GetAsync("/t/acme/tenant", Cancellation)).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await anonymous.GetAsync("/t/initech/tenant", Cancellation)).StatusCode);
    }

    [Theory]
    [InlineData("/t/globex/tenant", null, null)]
    [InlineData("/tenant", "globex", null)]
    [InlineData("/tenant", null, "globex.localhost")]
    public async Task A_member_naming_another_tenant_is_403_however_it_is_named(string path, string? header, string? host)
    {
        using HttpClient acme = Api.Client(Api.Tokens.Member("acme"));
        using var request = new HttpRequestMessage(HttpMethod.Get, path);
        if (header is not null)
        {
            request.Headers.Add("X-Tenant", header);
        }

        if (host is not null)
        {
            request.Headers.Host = host;
        }

        await AssertProblemAsync(await acme.SendAsync(request, Cancellation), 403, "tenant-forbidden");
    }

    [Fact]
    public async Task An_authenticated_caller_without_a_tenant_claim_is_403()
    {
        using HttpClient nobody = Api.Client(Api.Tokens.NoTenant());
        await AssertProblemAsync(await nobody.GetAsync("/t/acme/tenant", Cancellation), 403, "tenant-forbidden");
    }

    /// <summary>Which of <paramref name="candidates"/> comes first in this class's order.</summary>
    private string First(params string[] candidates) => strategies.First(candidates.Contains);

    /// <summary>The tenant a request resolved to; its database session must be in that tenant's schema too.</summary>
    private static async Task<string> ResolvedAsync(HttpClient client, string path)
    {
        using HttpResponseMessage response = await client.GetAsync(path, Cancellation);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        CurrentTenantResponse tenant = (await response.Content.ReadFromJsonAsync<CurrentTenantResponse>(Cancellation))!;
        Assert.Equal(tenant.Name, tenant.Schema);
        return tenant.Name;
    }

    public sealed class ClaimFirst(PostgresFixture postgres) : ResolutionTests(postgres, StrategyOrders.ClaimFirst);

    public sealed class RouteFirst(PostgresFixture postgres) : ResolutionTests(postgres, StrategyOrders.RouteFirst);

    public sealed class HostFirst(PostgresFixture postgres) : ResolutionTests(postgres, StrategyOrders.HostFirst);

    public sealed class HeaderFirst(PostgresFixture postgres) : ResolutionTests(postgres, StrategyOrders.HeaderFirst);
}
