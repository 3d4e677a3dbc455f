using System.Net;
using System.Net.Http.Json;
using Saas.Api.Model;

namespace Saas.Api.Tests;

public sealed class ResolutionTests(PostgresFixture postgres) : ApiTest(postgres)
{
    public override async ValueTask InitializeAsync()
    {
        await base.InitializeAsync();
        await Api.ProvisionAsync("acme", "globex");
        foreach (string tenant in (string[])["acme", "globex"])
        {
            using HttpClient member = Api.Client(Api.Tokens.Member(tenant));
            (await member.PostAsJsonAsync("/articles", new ArticleRequest($"{tenant} article", "seed"), Cancellation)).EnsureSuccessStatusCode();
        }
    }

    [Fact]
    public async Task Claim_strategy_resolves_the_members_tenant()
    {
        using HttpClient acme = Api.Client(Api.Tokens.Member("acme"));
        Assert.Equal(["acme article"], await TitlesAsync(acme, "/articles"));
    }

    [Fact]
    public async Task Header_strategy_resolves()
    {
        using HttpClient admin = Api.Client(Api.Tokens.Admin());
        admin.DefaultRequestHeaders.Add("X-Tenant", "globex");
        Assert.Equal(["globex article"], await TitlesAsync(admin, "/articles"));
    }

    [Fact]
    public async Task Route_strategy_resolves()
    {
        using HttpClient admin = Api.Client(Api.Tokens.Admin());
        Assert.Equal(["acme article"], await TitlesAsync(admin, "/t/acme/articles"));
        Assert.Equal(["globex article"], await TitlesAsync(admin, "/t/globex/articles"));
    }

    [Fact]
    public async Task Host_strategy_resolves()
    {
        using HttpClient admin = Api.Client(Api.Tokens.Admin());
        admin.DefaultRequestHeaders.Host = "globex.localhost";
        Assert.Equal(["globex article"], await TitlesAsync(admin, "/articles"));
    }

    [Fact]
    public async Task The_configured_order_holds_the_first_strategy_that_yields_wins()
    {
        // Default order: claim, route, host, header. The route names acme, the host and header globex: route wins.
        using HttpClient admin = Api.Client(Api.Tokens.Admin());
        admin.DefaultRequestHeaders.Host = "globex.localhost";
        admin.DefaultRequestHeaders.Add("X-Tenant", "globex");
        Assert.Equal(["acme article"], await TitlesAsync(admin, "/t/acme/articles"));

        // Host before header: the host names globex, the header acme.
        using HttpClient hostFirst = Api.Client(Api.Tokens.Admin());
        hostFirst.DefaultRequestHeaders.Host = "globex.localhost";
        hostFirst.DefaultRequestHeaders.Add("X-Tenant", "acme");
        Assert.Equal(["globex article"], await TitlesAsync(hostFirst, "/articles"));
    }

    [Fact]
    public async Task No_tenant_on_a_tenant_scoped_endpoint_is_400_never_shared_data()
    {
        using HttpClient admin = Api.Client(Api.Tokens.Admin());
        await AssertProblemAsync(await admin.GetAsync("/articles", Cancellation), 400, "tenant-required");
    }

    [Theory]
    [InlineData("Acme")]
    [InlineData("acme;drop")]
    [InlineData("pg_catalog")]
    [InlineData("shared")]
    public async Task A_syntactically_invalid_name_is_400(string name)
    {
        using HttpClient admin = Api.Client(Api.Tokens.Admin());
        admin.DefaultRequestHeaders.TryAddWithoutValidation("X-Tenant", name);
        await AssertProblemAsync(await admin.GetAsync("/articles", Cancellation), 400, "tenant-invalid");
    }

    [Fact]
    public async Task A_valid_but_unknown_tenant_is_404()
    {
        using HttpClient admin = Api.Client(Api.Tokens.Admin());
        await AssertProblemAsync(await admin.GetAsync("/t/initech/articles", Cancellation), 404, "tenant-not-found");
    }

    [Fact]
    public async Task A_registered_tenant_not_yet_migrated_is_503_not_a_failure_inside()
    {
        await Api.Service<Tenants.Shared.Catalog.ITenantCatalog>().CreateAsync("pending_co", "Pending Co", Cancellation);
        using HttpClient admin = Api.Client(Api.Tokens.Admin());
        await AssertProblemAsync(await admin.GetAsync("/t/pending_co/articles", Cancellation), 503, "tenant-not-ready");
    }

    [Fact]
    public async Task Anonymous_callers_get_401_and_learn_nothing_about_tenants()
    {
        using HttpClient anonymous = Api.Client(null);
        Assert.Equal(HttpStatusCode.Unauthorized, (await anonymous.GetAsync("/t/acme/articles", Cancellation)).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await anonymous.GetAsync("/t/initech/articles", Cancellation)).StatusCode);
    }

    [Fact]
    public async Task An_authenticated_caller_without_a_tenant_claim_is_403()
    {
        using HttpClient nobody = Api.Client(Api.Tokens.NoTenant());
        await AssertProblemAsync(await nobody.GetAsync("/t/acme/articles", Cancellation), 403, "tenant-forbidden");
    }

    private static async Task<List<string>> TitlesAsync(HttpClient client, string path)
    {
        using HttpResponseMessage response = await client.GetAsync(path, Cancellation);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var page = await response.Content.ReadFromJsonAsync<PagedResult<ArticleResponse>>(Cancellation);
        return [.. page!.Items.Select(a => a.Title)];
    }
}
