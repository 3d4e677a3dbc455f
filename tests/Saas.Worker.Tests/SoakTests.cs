extern alias Api;

using System.Collections.Concurrent;
using System.Net;
using System.Net.Http.Json;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;
using Api::Saas.Api.Model;
using Saas.Data;
using Saas.Data.Model;
using Tenants.Shared;
using Tenants.Shared.Catalog;
using Tenants.Shared.Migrations;

namespace Saas.Worker.Tests;

/// <summary>
/// A bounded soak with injected faults: the Worker is killed (SIGKILL) in the middle of migrating 60 new tenants and a
/// second one finishes the job; then over 10,000 requests spread over those tenants, with client cancellations in
/// flight and exceptions thrown inside tenant scopes mid-transaction. Afterwards nothing acknowledged is missing,
/// nothing is in the wrong tenant, nothing half-done survived, and every tenant is at the latest migration.
/// Seeded, so a failure replays.
/// </summary>
public sealed class SoakTests(PostgresFixture postgres)
{
    private const int TenantCount = 60;
    private const int Operations = 11_000; // about 5% of them are in-process faults, the rest HTTP requests
    private const int MinimumRequests = 10_000;
    private const int Concurrency = 16;
    private const int Seed = 20261129;

    private static CancellationToken Cancellation => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Ten_thousand_requests_over_sixty_tenants_with_faults_lose_nothing_and_leak_nothing()
    {
        string database = await postgres.Cluster.CreateDatabaseAsync(Cancellation);
        await using var api = new ApiHost(database);
        string[] tenants = [.. Enumerable.Range(0, TenantCount).Select(i => $"soak_{i:D2}")];
        foreach (string tenant in tenants)
        {
            await api.Service<ITenantRegistry>().RegisterAsync(tenant, Cancellation);
        }

        ITenantCatalog catalog = api.Service<ITenantCatalog>();
        await MigrateDespiteAKilledWorkerAsync(database, catalog);
        await using WorkerProcess worker = WorkerProcess.Start(database); // the survivor keeps running through the soak
        await WaitForReadyAsync(catalog, TenantCount, worker);

        var soak = new Soak(api, tenants);
        await soak.RunAsync();

        Assert.True(soak.Requests >= MinimumRequests, $"only {soak.Requests} requests");
        Assert.True(soak.Cancelled > 100 && soak.Faults > 100, $"{soak.Cancelled} cancelled, {soak.Faults} faults");
        Assert.Empty(soak.Unexpected);
        Assert.False(worker.HasExited, worker.Output);

        string latest = api.Service<TenantMigrationRunner<AppDbContext>>().LatestMigration()!;
        await using var connection = new NpgsqlConnection(database);
        await connection.OpenAsync(Cancellation);
        foreach (string tenant in tenants)
        {
            List<(string Title, string Body)> rows = await RowsAsync(connection, tenant);
            Assert.All(rows, r => Assert.Equal(tenant, r.Body)); // no row of another tenant
            var titles = rows.Select(r => r.Title).ToHashSet(StringComparer.Ordinal);
            Assert.Equal(rows.Count, titles.Count);
            Assert.Subset(titles, soak.Acknowledged(tenant)); // no acknowledged write lost
            Assert.Superset(titles, soak.Acknowledged(tenant).Union(soak.Unacknowledged(tenant)).ToHashSet()); // nothing else, no rolled-back write

            TenantRecord record = (await catalog.FindAsync(tenant, Cancellation))!;
            Assert.Equal((MigrationState.Ready, latest), (record.State, record.LastMigration));
            Assert.Equal(latest, await ScalarAsync<string>(connection, $"SELECT max(\"MigrationId\") FROM {PgIdentifier.Quote(tenant)}.\"__EFMigrationsHistory\""));
        }
    }

    /// <summary>One migrating tenant at a time, killed once a few are done: the rest are pending, one maybe half-done.</summary>
    private static async Task MigrateDespiteAKilledWorkerAsync(string database, ITenantCatalog catalog)
    {
        await using WorkerProcess doomed = WorkerProcess.Start(database, ("Tenancy__Migrations__MaxParallelism", "1"));
        await WaitForReadyAsync(catalog, 3, doomed);
        await doomed.KillAsync();
        int ready = (await catalog.ListAsync(Cancellation)).Count(t => t.State == MigrationState.Ready);
        Assert.InRange(ready, 3, TenantCount - 1); // killed in the middle of the pass
    }

    private static Task WaitForReadyAsync(ITenantCatalog catalog, int count, WorkerProcess worker) =>
        Eventually.UntilAsync(
            async () =>
            {
                Assert.False(worker.HasExited, $"The Worker exited:{Environment.NewLine}{worker.Output}");
                return (await catalog.ListAsync(Cancellation)).Count(t => t.State == MigrationState.Ready) >= count;
            },
            $"{count} tenants to be migrated",
            Cancellation);

    private static async Task<List<(string, string)>> RowsAsync(NpgsqlConnection connection, string tenant)
    {
        await using var command = new NpgsqlCommand($"SELECT \"Title\", \"Body\" FROM {PgIdentifier.Quote(tenant)}.articles", connection);
        await using NpgsqlDataReader reader = await command.ExecuteReaderAsync(Cancellation);
        var rows = new List<(string, string)>();
        while (await reader.ReadAsync(Cancellation))
        {
            rows.Add((reader.GetString(0), reader.GetString(1)));
        }

        return rows;
    }

    private static async Task<T> ScalarAsync<T>(NpgsqlConnection connection, string sql)
    {
        await using var command = new NpgsqlCommand(sql, connection);
        return (T)(await command.ExecuteScalarAsync(Cancellation))!;
    }

    /// <summary>The traffic, and what it was told.</summary>
    private sealed class Soak(ApiHost api, string[] tenants)
    {
        private readonly ConcurrentDictionary<string, ConcurrentBag<string>> _acknowledged = new(StringComparer.Ordinal);
        private readonly ConcurrentDictionary<string, ConcurrentBag<string>> _unacknowledged = new(StringComparer.Ordinal);
        private readonly ConcurrentQueue<string> _unexpected = new();
        private int _requests;
        private int _cancelled;
        private int _faults;

        public int Requests => _requests;

        public int Cancelled => _cancelled;

        public int Faults => _faults;

        public IReadOnlyCollection<string> Unexpected => _unexpected;

        /// <summary>Titles the Api answered 201 for.</summary>
        public HashSet<string> Acknowledged(string tenant) => [.. _acknowledged.GetValueOrDefault(tenant) ?? []];

        /// <summary>Titles of creations cancelled by the client: each may or may not have landed.</summary>
        public HashSet<string> Unacknowledged(string tenant) => [.. _unacknowledged.GetValueOrDefault(tenant) ?? []];

        public async Task RunAsync()
        {
            using HttpClient client = api.CreateClient();
            await Parallel.ForEachAsync(
                Enumerable.Range(0, Operations),
                new ParallelOptions { MaxDegreeOfParallelism = Concurrency, CancellationToken = Cancellation },
                async (i, _) =>
                {
                    var random = new Random(Seed + i);
                    string tenant = tenants[random.Next(tenants.Length)];
                    int roll = random.Next(100);
                    if (roll < 5)
                    {
                        await ThrowInsideAScopeAsync(tenant, i);
                        return;
                    }

                    Interlocked.Increment(ref _requests);
                    using var cancel = CancellationTokenSource.CreateLinkedTokenSource(Cancellation);
                    bool cancelling = roll >= 85;
                    if (cancelling)
                    {
                        cancel.CancelAfter(random.Next(0, 15)); // client gives up mid-request
                    }

                    try
                    {
                        string title = $"{tenant}/{i}";
                        await (roll switch
                        {
                            < 50 => CreateAsync(client, tenant, title, mayBeCancelled: false, cancel.Token),
                            < 75 => ListAsync(client, tenant, random.Next(1, 4), cancel.Token),
                            < 85 => CurrentTenantAsync(client, tenant, cancel.Token),
                            _ when roll % 2 == 0 => CreateAsync(client, tenant, title, mayBeCancelled: true, cancel.Token),
                            _ => ListAsync(client, tenant, 1, cancel.Token),
                        });
                    }
                    catch (OperationCanceledException) when (cancelling && !Cancellation.IsCancellationRequested)
                    {
                        Interlocked.Increment(ref _cancelled);
                    }
                });
        }

        private async Task CreateAsync(HttpClient client, string tenant, string title, bool mayBeCancelled, CancellationToken cancellationToken)
        {
            if (mayBeCancelled)
            {
                _unacknowledged.GetOrAdd(tenant, _ => []).Add(title);
            }

            using HttpResponseMessage response = await client.PostAsJsonAsync($"/t/{tenant}/articles", new ArticleRequest(title, tenant), cancellationToken);
            if (response.StatusCode == HttpStatusCode.Created)
            {
                _acknowledged.GetOrAdd(tenant, _ => []).Add(title);
            }
            else
            {
                await UnexpectedAsync(response, cancellationToken);
            }
        }

        private async Task ListAsync(HttpClient client, string tenant, int page, CancellationToken cancellationToken)
        {
            using HttpResponseMessage response = await client.GetAsync($"/t/{tenant}/articles?page={page}&pageSize=100", cancellationToken);
            if (response.StatusCode != HttpStatusCode.OK)
            {
                await UnexpectedAsync(response, cancellationToken);
                return;
            }

            PagedResult<ArticleResponse> result = (await response.Content.ReadFromJsonAsync<PagedResult<ArticleResponse>>(cancellationToken))!;
            foreach (ArticleResponse article in result.Items.Where(a => a.Body != tenant))
            {
                _unexpected.Enqueue($"{tenant} was shown {article.Body}'s article {article.Title}");
            }
        }

        private async Task CurrentTenantAsync(HttpClient client, string tenant, CancellationToken cancellationToken)
        {
            using HttpResponseMessage response = await client.GetAsync($"/t/{tenant}/tenant", cancellationToken);
            if (response.StatusCode != HttpStatusCode.OK)
            {
                await UnexpectedAsync(response, cancellationToken);
                return;
            }

            CurrentTenantResponse current = (await response.Content.ReadFromJsonAsync<CurrentTenantResponse>(cancellationToken))!;
            if (current.Schema != tenant)
            {
                _unexpected.Enqueue($"{tenant}'s session worked in {current.Schema}");
            }
        }

        /// <summary>Writes inside a tenant's scope and transaction, then throws before committing: nothing may remain.</summary>
        private async Task ThrowInsideAScopeAsync(string tenant, int i)
        {
            try
            {
                await using TenantScope scope = await api.Service<TenantContext>().EnterAsync(tenant, Cancellation);
                await using AsyncServiceScope services = api.Services.CreateAsyncScope();
                AppDbContext db = services.ServiceProvider.GetRequiredService<AppDbContext>();
                await using var transaction = await db.Database.BeginTransactionAsync(Cancellation);
                db.Articles.Add(new Article { Title = $"{tenant}/fault/{i}", Body = tenant });
                await db.SaveChangesAsync(Cancellation);
                throw new InjectedFaultException();
            }
            catch (InjectedFaultException)
            {
                Interlocked.Increment(ref _faults);
            }
        }

        private async Task UnexpectedAsync(HttpResponseMessage response, CancellationToken cancellationToken) =>
            _unexpected.Enqueue($"{response.RequestMessage?.Method} {response.RequestMessage?.RequestUri}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync(cancellationToken)}");
    }

    private sealed class InjectedFaultException : Exception;
}
