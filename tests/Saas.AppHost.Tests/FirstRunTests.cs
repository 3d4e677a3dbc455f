using System.Net;
using System.Net.Http.Json;
using System.Text.Json;

namespace Saas.AppHost.Tests;

/// <summary>
/// README's first steps on a fresh machine: the app runs from the AppHost, then `dotnet user-jwts create` makes the
/// first tokens (and with them the development signing key the Api has never seen), then the calls README shows.
/// </summary>
public sealed class FirstRunTests(AppFixture fixture)
{
    private static CancellationToken Cancellation => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Readmes_token_flow_works_on_the_first_try_with_user_secrets_that_held_no_key()
    {
        using HttpClient admin = await fixture.ApiClientAsync(tenant: null, Cancellation);
        await admin.AddTenantAsync("initech", "Initech", Cancellation);

        using HttpClient member = await fixture.ApiClientAsync("initech", Cancellation);
        using HttpResponseMessage session = await member.GetAsync("/tenant", Cancellation);
        Assert.True(session.StatusCode == HttpStatusCode.OK, await session.Content.ReadAsStringAsync(Cancellation));
        Assert.Equal("initech", (await session.Content.ReadFromJsonAsync<JsonElement>(Cancellation)).GetProperty("schema").GetString());
#if (includeSample)

        using HttpResponseMessage written = await member.PostAsJsonAsync("/articles", new { title = "Hello", body = "from initech" }, Cancellation);
        Assert.Equal(HttpStatusCode.Created, written.StatusCode);
        JsonElement page = await member.GetFromJsonAsync<JsonElement>("/articles", Cancellation);
        Assert.Equal(["Hello"], page.GetProperty("items").EnumerateArray().Select(a => a.GetProperty("title").GetString()));
#endif
    }
}
