using System.Net.Http.Json;
using Saas.Api.Model;

namespace Saas.Api.Tests;

/// <summary>
/// A token for one tenant never reaches another, however the request names it, under each order a generated app can
/// ship with (the nested classes).
/// </summary>
public abstract class HoppingTests(PostgresFixture postgres, string[] strategies) : ApiTest(postgres)
{
    protected override IReadOnlyList<string> Strategies => strategies;

    protected override bool SplitRoles => true;

    public override async ValueTask InitializeAsync()
    {
        await base.InitializeAsync();
        await Api.ProvisionAsync("acme", "globex");
        foreach ((string tenant, string title) in (ValueTuple<string, string>[])[("globex", "globex secret"), ("acme", "acme note")])
        {
            using HttpClient member = Api.Client(Api.Tokens.Member(tenant));
            (await member.PostAsJsonAsync("/articles", new ArticleRequest(title, "do not touch"), Cancellation)).EnsureSuccessStatusCode();
        }
    }

    public static TheoryData<string, string, string?, string?> Hops => new()
    {
        // method, path, X-Tenant header, Host header
        { "GET", "/articles", "globex", null },
        { "POST", "/articles", "globex", null },
        { "GET", "/t/globex/articles", null, null },
        { "POST", "/t/globex/articles", null, null },
        { "DELETE", "/t/globex/articles/1", null, null },
        { "PUT", "/t/globex/articles/1", null, null },
        { "GET", "/articles", null, "globex.localhost" },
        { "POST", "/articles", null, "globex.localhost" },
        { "GET", "/t/globex/articles", "acme", null },
    };

    [Theory]
    [MemberData(nameof(Hops))]
    public async Task A_token_for_acme_naming_globex_is_403_and_globex_is_untouched(string method, string path, string? header, string? host)
    {
        using HttpClient acme = Api.Client(Api.Tokens.Member("acme"));
        using var request = new HttpRequestMessage(new HttpMethod(method), path);
        if (header is not null)
        {
            request.Headers.Add("X-Tenant", header);
        }

        if (host is not null)
        {
            request.Headers.Host = host;
        }

        if (method is "POST" or "PUT")
        {
            request.Content = JsonContent.Create(new ArticleRequest("hopped", "written by acme"));
        }

        await AssertProblemAsync(await acme.SendAsync(request, Cancellation), 403, "tenant-forbidden");
        Assert.Equal(1, await Api.CountArticlesAsync("globex"));
        Assert.Equal(1, await Api.CountArticlesAsync("globex", "globex secret"));
        Assert.Equal(1, await Api.CountArticlesAsync("acme"));
        Assert.Equal(1, await Api.CountArticlesAsync("acme", "acme note"));
    }

    [Fact]
    public async Task A_member_of_several_tenants_reaches_each_by_naming_it_and_no_other()
    {
        await Api.ProvisionAsync("initech");
        using HttpClient both = Api.Client(Api.Tokens.Member("acme", "globex"));
        Assert.Equal(["globex secret"], await TitlesAsync(both, "/t/globex/articles"));
        Assert.Equal(["acme note"], await TitlesAsync(both, "/t/acme/articles"));
        await AssertProblemAsync(await both.GetAsync("/t/initech/articles", Cancellation), 403, "tenant-forbidden");
        await AssertProblemAsync(await both.GetAsync("/articles", Cancellation), 400, "tenant-required"); // two claims: must say which
    }

    private static async Task<string[]> TitlesAsync(HttpClient client, string path) =>
        [.. (await client.GetFromJsonAsync<PagedResult<ArticleResponse>>(path, Cancellation))!.Items.Select(a => a.Title)];

    public sealed class ClaimFirst(PostgresFixture postgres) : HoppingTests(postgres, StrategyOrders.ClaimFirst);

    public sealed class RouteFirst(PostgresFixture postgres) : HoppingTests(postgres, StrategyOrders.RouteFirst);

    public sealed class HostFirst(PostgresFixture postgres) : HoppingTests(postgres, StrategyOrders.HostFirst);

    public sealed class HeaderFirst(PostgresFixture postgres) : HoppingTests(postgres, StrategyOrders.HeaderFirst);
}
