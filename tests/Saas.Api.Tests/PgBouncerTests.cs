#if (includeSample)
using System.Collections.Concurrent;
using System.Net;
#endif
using System.Net.Http.Json;
using Microsoft.Extensions.Configuration;
using Npgsql;
using Saas.Api.Model;
using Tenants.Shared;
using Tenants.Shared.Security;

namespace Saas.Api.Tests;

/// <summary>
/// The real Api behind a throwaway PgBouncer, the app's and the owner's connections both through it, Npgsql's pool in
/// front as in production. Session mode serves every tenant without a leak; transaction and statement mode stop the
/// Api at startup, before it serves or creates anything.
/// </summary>
public sealed class PgBouncerTests(PostgresFixture postgres)
{
    private const int TenantCount = 8;
#if (includeSample)
    private const int RequestCount = 1_200;
    private const int InFlight = 32;
#endif

    [Fact(Timeout = Eventually.TestTimeout)]
    public async Task Through_a_session_mode_PgBouncer_concurrent_tenants_never_cross()
    {
        CancellationToken cancellation = TestContext.Current.CancellationToken; // bounded by the Timeout
        string direct = await postgres.Cluster.CreateDatabaseAsync(cancellation);
        await PgBouncer.SetRoleDefaultSearchPathAsync(direct, SharedSchema, cancellation);
        await using PgBouncer bouncer = await PgBouncer.StartAsync(direct, "session", cancellation);
        Assert.NotEqual(new NpgsqlConnectionStringBuilder(direct).Port, new NpgsqlConnectionStringBuilder(bouncer.ConnectionString).Port);

        await using var api = new ApiFactory(bouncer.ConnectionString); // no owner string: provisioning goes through it too
        string[] tenants = [.. Enumerable.Range(0, TenantCount).Select(i => $"pgb_{i}")];
        await api.ProvisionAsync(tenants);
        HttpClient[] clients = [.. tenants.Select(t => api.Client(api.Tokens.Member(t)))];

        // Each tenant's session, as the Api sees it: its schema first, its own role.
        for (int t = 0; t < TenantCount; t++)
        {
            CurrentTenantResponse session = (await clients[t].GetFromJsonAsync<CurrentTenantResponse>($"/t/{tenants[t]}/tenant", cancellation))!;
            Assert.Equal(tenants[t], session.Schema);
            Assert.Equal(TenantRoleNames.NameFor(tenants[t], "tenant_"), session.Role);
        }

#if (includeSample)
        var acknowledged = new int[TenantCount];
        var foreign = new ConcurrentBag<string>();
        using var gate = new SemaphoreSlim(InFlight);
        Task[] requests = [.. Enumerable.Range(0, RequestCount).Select(async i =>
        {
            int t = (i * 5) % TenantCount; // every tenant's requests spread over the run
            await gate.WaitAsync(cancellation);
            try
            {
                switch (i % 3)
                {
                    case 0:
                        // Writes go by claim (/articles) or by route (/t/{tenant}/articles), alternately.
                        string path = i % 2 == 0 ? "/articles" : $"/t/{tenants[t]}/articles";
                        using (HttpResponseMessage created = await clients[t].PostAsJsonAsync(path, new ArticleRequest($"{tenants[t]}:{i}", "body"), cancellation))
                        {
                            Assert.Equal(HttpStatusCode.Created, created.StatusCode);
                        }

                        Interlocked.Increment(ref acknowledged[t]);
                        break;
                    case 1:
                        var page = await clients[t].GetFromJsonAsync<PagedResult<ArticleResponse>>("/articles?pageSize=100", cancellation);
                        foreach (ArticleResponse a in page!.Items.Where(a => !a.Title.StartsWith(tenants[t] + ":", StringComparison.Ordinal)))
                        {
                            foreign.Add($"{tenants[t]} saw {a.Title}");
                        }

                        break;
                    default:
                        CurrentTenantResponse session = (await clients[t].GetFromJsonAsync<CurrentTenantResponse>("/tenant", cancellation))!;
                        if (session.Schema != tenants[t] || session.Role != TenantRoleNames.NameFor(tenants[t], "tenant_"))
                        {
                            foreign.Add($"{tenants[t]} ran in schema {session.Schema} as {session.Role}");
                        }

                        break;
                }
            }
            finally
            {
                gate.Release();
            }
        })];
        await Task.WhenAll(requests);

        Assert.Empty(foreign);
        Assert.Equal((RequestCount + 2) / 3, acknowledged.Sum());
        for (int t = 0; t < TenantCount; t++)
        {
            // Counted in each schema over a direct connection, not through the bouncer or the Api.
            (long all, long theirs) = await CountArticlesAsync(direct, tenants[t], cancellation);
            Assert.Equal(acknowledged[t], all);
            Assert.Equal(all, theirs);
        }
#endif

        foreach (HttpClient client in clients)
        {
            client.Dispose();
        }
    }

    [Theory(Timeout = Eventually.TestTimeout)]
    [InlineData("transaction")]
    [InlineData("statement")]
    public async Task Through_a_transaction_or_statement_mode_PgBouncer_the_Api_refuses_to_start(string poolMode)
    {
        CancellationToken cancellation = TestContext.Current.CancellationToken; // bounded by the Timeout
        string direct = await postgres.Cluster.CreateDatabaseAsync(cancellation);
        await PgBouncer.SetRoleDefaultSearchPathAsync(direct, SharedSchema, cancellation); // the pool mode is the only thing wrong
        HashSet<string> before = await SchemasAsync(direct, cancellation);
        await using PgBouncer bouncer = await PgBouncer.StartAsync(direct, poolMode, cancellation);

        await using var api = new ApiFactory(bouncer.ConnectionString);
        Exception failure = Assert.ThrowsAny<Exception>(() => api.CreateClient());
        InvalidOperationException refused = Assert.IsType<InvalidOperationException>(failure is AggregateException { InnerExceptions: [var single] } ? single : failure);
        Assert.Contains("transaction or statement mode", refused.Message, StringComparison.Ordinal);
        Assert.Contains($"Port={new NpgsqlConnectionStringBuilder(bouncer.ConnectionString).Port}", refused.Message, StringComparison.Ordinal);
        Assert.Contains("pool_mode = session", refused.Message, StringComparison.Ordinal);
        Assert.Contains("README.md, Security", refused.Message, StringComparison.Ordinal);

        // Nothing was created on the way: no catalog, no shared schema, no tenant.
        Assert.Equal(before, await SchemasAsync(direct, cancellation));
        Assert.DoesNotContain(SharedSchema, before);
    }

    // Read before any Api starts: starting is what the tests try.
    private static readonly string SharedSchema = ApiSettings.SharedSchema;

    private static async Task<HashSet<string>> SchemasAsync(string connectionString, CancellationToken cancellationToken)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync(cancellationToken);
        await using var command = new NpgsqlCommand("SELECT nspname FROM pg_namespace", connection);
        await using NpgsqlDataReader reader = await command.ExecuteReaderAsync(cancellationToken);
        var names = new HashSet<string>(StringComparer.Ordinal);
        while (await reader.ReadAsync(cancellationToken))
        {
            names.Add(reader.GetString(0));
        }

        return names;
    }

#if (includeSample)
    /// <summary>A tenant's articles, and how many of them carry its own marker, qualified, no routing involved.</summary>
    private static async Task<(long All, long Theirs)> CountArticlesAsync(string connectionString, string tenant, CancellationToken cancellationToken)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync(cancellationToken);
        await using var command = new NpgsqlCommand(
            $"SELECT count(*), count(*) FILTER (WHERE starts_with(\"Title\", $1)) FROM {PgIdentifier.Quote(tenant)}.articles", connection);
        command.Parameters.Add(new NpgsqlParameter { Value = tenant + ":" });
        await using NpgsqlDataReader reader = await command.ExecuteReaderAsync(cancellationToken);
        await reader.ReadAsync(cancellationToken);
        return (reader.GetInt64(0), reader.GetInt64(1));
    }
#endif
}
