using System.Collections.Concurrent;
using System.Net;
using System.Net.Http.Json;
using Saas.Api.Model;

namespace Saas.Api.Tests;

/// <summary>
/// Concurrent writes and reads across many tenants, by claim and by route, with the Api logged in as the app's own role
/// (its Worker as the owner), as the AppHost deploys them: every row lands in, and every read sees, its own tenant only.
/// </summary>
public sealed class HttpIsolationTests(PostgresFixture postgres) : ApiTest(postgres)
{
    private const int TenantCount = 50;
    private const int RequestCount = 5_000;
    private const int InFlight = 64;

    protected override bool SplitRoles => true;

    [Fact]
    public async Task Five_thousand_concurrent_requests_across_fifty_tenants_never_cross()
    {
        string[] tenants = [.. Enumerable.Range(0, TenantCount).Select(i => $"iso_{i:D2}")];
        await Api.ProvisionAsync(tenants);
        HttpClient[] clients = [.. tenants.Select(t => Api.Client(Api.Tokens.Member(t)))];

        var acknowledged = new int[TenantCount];
        var foreign = new ConcurrentBag<string>();
        using var gate = new SemaphoreSlim(InFlight);
        Task[] requests = [.. Enumerable.Range(0, RequestCount).Select(async i =>
        {
            int t = (i * 7) % TenantCount; // spread each tenant's requests over the run
            await gate.WaitAsync(Cancellation);
            try
            {
                if (i % 2 == 0)
                {
                    // Writes go by claim (/articles) or by route (/t/{tenant}/articles), alternately.
                    string path = i % 4 == 0 ? "/articles" : $"/t/{tenants[t]}/articles";
                    using HttpResponseMessage created = await clients[t].PostAsJsonAsync(path, new ArticleRequest($"{tenants[t]}:{i}", "body"), Cancellation);
                    Assert.Equal(HttpStatusCode.Created, created.StatusCode);
                    Interlocked.Increment(ref acknowledged[t]);
                }
                else
                {
                    var page = await clients[t].GetFromJsonAsync<PagedResult<ArticleResponse>>("/articles?pageSize=100", Cancellation);
                    foreach (ArticleResponse a in page!.Items.Where(a => !a.Title.StartsWith(tenants[t] + ":", StringComparison.Ordinal)))
                    {
                        foreign.Add($"{tenants[t]} saw {a.Title}");
                    }
                }
            }
            finally
            {
                gate.Release();
            }
        })];
        await Task.WhenAll(requests);

        Assert.Empty(foreign);
        for (int t = 0; t < TenantCount; t++)
        {
            Assert.Equal(acknowledged[t], await Api.CountArticlesAsync(tenants[t]));
            Assert.Equal(acknowledged[t], await Api.CountArticlesAsync(tenants[t], tenants[t] + ":"));
        }

        Assert.Equal(RequestCount / 2, acknowledged.Sum());
        foreach (HttpClient client in clients)
        {
            client.Dispose();
        }
    }
}
