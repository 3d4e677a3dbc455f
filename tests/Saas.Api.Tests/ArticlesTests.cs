using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Saas.Api.Model;

namespace Saas.Api.Tests;

public sealed class ArticlesTests(PostgresFixture postgres) : ApiTest(postgres)
{
    public override async ValueTask InitializeAsync()
    {
        await base.InitializeAsync();
        await Api.ProvisionAsync("acme");
    }

    [Fact]
    public async Task Create_get_update_delete_round_trip()
    {
        using HttpClient acme = Api.Client(Api.Tokens.Member("acme"));
        using HttpResponseMessage created = await acme.PostAsJsonAsync("/articles", new ArticleRequest("Hello", "World"), Cancellation);
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        ArticleResponse article = (await created.Content.ReadFromJsonAsync<ArticleResponse>(Cancellation))!;
        Assert.Equal($"/articles/{article.Id}", created.Headers.Location?.OriginalString);

        ArticleResponse fetched = (await acme.GetFromJsonAsync<ArticleResponse>($"/articles/{article.Id}", Cancellation))!;
        Assert.Equal(("Hello", "World"), (fetched.Title, fetched.Body));

        using HttpResponseMessage updated = await acme.PutAsJsonAsync($"/articles/{article.Id}", new ArticleRequest("Hello again", "Edited"), Cancellation);
        Assert.Equal(HttpStatusCode.OK, updated.StatusCode);
        ArticleResponse edited = (await acme.GetFromJsonAsync<ArticleResponse>($"/articles/{article.Id}", Cancellation))!;
        Assert.Equal(("Hello again", "Edited"), (edited.Title, edited.Body));
        Assert.True(edited.UpdatedAt >= edited.CreatedAt);

        Assert.Equal(HttpStatusCode.NoContent, (await acme.DeleteAsync($"/articles/{article.Id}", Cancellation)).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await acme.GetAsync($"/articles/{article.Id}", Cancellation)).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await acme.DeleteAsync($"/articles/{article.Id}", Cancellation)).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await acme.PutAsJsonAsync($"/articles/{article.Id}", new ArticleRequest("x", "y"), Cancellation)).StatusCode);
    }

    [Fact]
    public async Task List_pages_in_id_order_with_the_total()
    {
        using HttpClient acme = Api.Client(Api.Tokens.Member("acme"));
        for (int i = 0; i < 7; i++)
        {
            (await acme.PostAsJsonAsync("/articles", new ArticleRequest($"a{i}", ""), Cancellation)).EnsureSuccessStatusCode();
        }

        var first = (await acme.GetFromJsonAsync<PagedResult<ArticleResponse>>("/articles?page=1&pageSize=3", Cancellation))!;
        var last = (await acme.GetFromJsonAsync<PagedResult<ArticleResponse>>("/articles?page=3&pageSize=3", Cancellation))!;
        Assert.Equal(7, first.Total);
        Assert.Equal(["a0", "a1", "a2"], first.Items.Select(a => a.Title));
        Assert.Equal(["a6"], last.Items.Select(a => a.Title));
    }

    [Theory]
    [InlineData("/articles?page=0", "page")]
    [InlineData("/articles?pageSize=0", "pageSize")]
    [InlineData("/articles?pageSize=101", "pageSize")]
    public async Task Bad_paging_is_a_validation_problem(string path, string field)
    {
        using HttpClient acme = Api.Client(Api.Tokens.Member("acme"));
        JsonElement problem = await AssertProblemAsync(await acme.GetAsync(path, Cancellation), 400);
        Assert.True(problem.GetProperty("errors").TryGetProperty(field, out _));
    }

    [Fact]
    public async Task Invalid_articles_are_validation_problems_and_nothing_is_written()
    {
        using HttpClient acme = Api.Client(Api.Tokens.Member("acme"));
        JsonElement empty = await AssertProblemAsync(await acme.PostAsJsonAsync("/articles", new ArticleRequest("  ", null), Cancellation), 400);
        Assert.True(empty.GetProperty("errors").TryGetProperty("title", out _));
        Assert.True(empty.GetProperty("errors").TryGetProperty("body", out _));

        JsonElement tooLong = await AssertProblemAsync(await acme.PostAsJsonAsync("/articles", new ArticleRequest(new string('x', 201), "b"), Cancellation), 400);
        Assert.True(tooLong.GetProperty("errors").TryGetProperty("title", out _));
        Assert.Equal(0, await Api.CountArticlesAsync("acme"));
    }
}
