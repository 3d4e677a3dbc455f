#if (includeSample)
using System.Diagnostics.Metrics;
using System.Net;
using System.Net.Http.Json;
using Npgsql;
using Saas.Api.Apis;
using Saas.Api.Model;
using Saas.Data.Model;

namespace Saas.Api.Tests;

/// <summary>
/// Clients that do not read their response (slow readers). A request's database work is over once its response
/// starts, so while a large page waits for its reader the request holds no connection, and every tenant is served.
/// </summary>
public sealed class SlowReaderTests(PostgresFixture postgres) : IAsyncLifetime
{
    private const int PoolSize = 4;
    private const int Articles = ArticlesApi.MaxPageSize; // one full page

    private ApiFactory? _api;
    private string _database = string.Empty;

    private static CancellationToken Cancellation => TestContext.Current.CancellationToken;

    public async ValueTask InitializeAsync()
    {
        // A small pool, and no dedicated pools: every connection a request holds is one of these few.
        var connection = new NpgsqlConnectionStringBuilder(await postgres.Cluster.CreateDatabaseAsync(Cancellation)) { MaxPoolSize = PoolSize };
        _database = connection.Database!;
        _api = new ApiFactory(connection.ConnectionString, [new("Tenancy:DedicatedPools:Tenants", "0")]);
        await _api.ProvisionAsync("slow", "other");

        // One page of the largest articles: far more than the response buffers hold, so an unread body stays unwritten.
        await using var owner = new NpgsqlConnection(connection.ConnectionString);
        await owner.OpenAsync(Cancellation);
        await using var seed = new NpgsqlCommand(
            $"INSERT INTO slow.articles (\"Title\", \"Body\") SELECT 'large', repeat('x', {Article.BodyMaxLength}) FROM generate_series(1, {Articles})", owner);
        await seed.ExecuteNonQueryAsync(Cancellation);
    }

    public async ValueTask DisposeAsync()
    {
        if (_api is not null)
        {
            await _api.DisposeAsync();
        }
    }

    [Fact(Timeout = Eventually.TestTimeout)]
    public async Task Slow_readers_of_a_large_page_hold_no_connection_and_every_tenant_is_served_meanwhile()
    {
        CancellationToken cancellation = TestContext.Current.CancellationToken; // bounded by the Timeout
        ApiFactory api = _api!;
        using HttpClient slow = api.Client(api.Tokens.Member("slow"));
        var unread = new List<HttpResponseMessage>();
        try
        {
            // As many slow readers as the pool has connections, then twice as many more.
            foreach (int readers in (int[])[PoolSize, 2 * PoolSize])
            {
                HttpResponseMessage[] started = await Task.WhenAll(Enumerable.Range(0, readers).Select(_ => slow.SendAsync(
                    new HttpRequestMessage(HttpMethod.Get, $"/articles?pageSize={Articles}"), HttpCompletionOption.ResponseHeadersRead, cancellation)));
                unread.AddRange(started);
                Assert.All(started, response => Assert.Equal(HttpStatusCode.OK, response.StatusCode));
                Assert.Equal(0, ConnectionsInUse()); // their bodies wait for them; no connection does
            }

            using HttpClient other = api.Client(api.Tokens.Member("other"));
            using HttpResponseMessage created = await other.PostAsJsonAsync("/articles", new ArticleRequest("meanwhile", "served"), cancellation);
            Assert.Equal(HttpStatusCode.Created, created.StatusCode);
            Assert.Equal(1, (await other.GetFromJsonAsync<PagedResult<ArticleResponse>>("/articles", cancellation))!.Total);
            Assert.Equal(Articles, (await slow.GetFromJsonAsync<PagedResult<ArticleResponse>>("/articles?pageSize=1", cancellation))!.Total);
        }
        finally
        {
            // The slow readers give up: their requests end.
            foreach (HttpResponseMessage response in unread)
            {
                response.Dispose();
            }
        }
    }

    /// <summary>Connections of this test's database lent out by Npgsql's pools right now (its own metric).</summary>
    private int ConnectionsInUse()
    {
        int used = 0;
        using var listener = new MeterListener
        {
            InstrumentPublished = (instrument, meters) =>
            {
                if (instrument.Meter.Name == "Npgsql" && instrument.Name == "db.client.connection.count")
                {
                    meters.EnableMeasurementEvents(instrument);
                }
            },
        };
        listener.SetMeasurementEventCallback<int>((_, value, tags, _) =>
        {
            string? pool = null, state = null;
            foreach (KeyValuePair<string, object?> tag in tags)
            {
                (pool, state) = tag.Key switch
                {
                    "db.client.connection.pool.name" => (tag.Value as string, state),
                    "db.client.connection.state" => (pool, tag.Value as string),
                    _ => (pool, state),
                };
            }

            if (state == "used" && pool?.Contains($"Database={_database}", StringComparison.Ordinal) == true)
            {
                used += value;
            }
        });
        listener.Start();
        listener.RecordObservableInstruments();
        return used;
    }
}
#endif
