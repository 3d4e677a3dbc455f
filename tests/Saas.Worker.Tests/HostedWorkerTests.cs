using System.Net;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Testing;
using Npgsql;
#if (includeSample && includeJob)
using Saas.Worker.Jobs;
#endif
using Tenants.Shared;
using Tenants.Shared.Catalog;

namespace Saas.Worker.Tests;

public sealed class HostedWorkerTests(PostgresFixture postgres) : IAsyncLifetime
{
    private WorkerFactory? _worker;

    private static CancellationToken Cancellation => TestContext.Current.CancellationToken;

    private WorkerFactory Worker => _worker!;

    public async ValueTask InitializeAsync()
    {
        string database = await postgres.Cluster.CreateDatabaseAsync(Cancellation);

        // As the AppHost deploys it: the app's role, and an owner that is not a superuser.
        (string App, string Owner) logins = await AppLogins.CreateAsync(database, Cancellation);

        // Registered before the Worker starts (through the bare tenancy core): its first pass must migrate them.
        await using (ServiceProvider core = new ServiceCollection().AddTenancy(logins.App, WorkerSettings.Apply, logins.Owner).BuildServiceProvider())
        {
            var catalog = core.GetRequiredService<ITenantCatalog>();
            await catalog.CreateAsync("early_a", "Early A", Cancellation);
            await catalog.CreateAsync("early_b", "Early B", Cancellation);
        }

        // A poll interval far beyond the test: a registration picked up promptly was heard, not polled for.
        _worker = new WorkerFactory(database,
        [
            new("Tenancy:Migrations:PollInterval", "01:00:00"),
            new("Tenancy:Jobs:ArticleStatsInterval", "01:00:00"),
            new("Tenancy:Plans:brief:StatementTimeout", "00:00:00.5"),
            new("Tenancy:Plans:standard:StatementTimeout", "00:00:00"), // none: only the brief plan's ends a wait
        ], logins);
    }

    public async ValueTask DisposeAsync()
    {
        if (_worker is not null)
        {
            await _worker.DisposeAsync();
        }
    }

    [Fact]
    public async Task Ready_only_after_the_first_pass_which_migrates_every_registered_tenant()
    {
        // The catalog is locked before the Worker starts: its first pass waits, and the Worker must say it is not ready.
        var options = new TenancyOptions();
        WorkerSettings.Apply(options);
        await using var blocker = new NpgsqlConnection(Worker.ConnectionString);
        await blocker.OpenAsync(Cancellation);
        await using NpgsqlTransaction held = await blocker.BeginTransactionAsync(Cancellation);
        await using (var take = new NpgsqlCommand($"LOCK TABLE {PgIdentifier.Quote(options.SharedSchema)}.tenants IN ACCESS EXCLUSIVE MODE", blocker, held))
        {
            await take.ExecuteNonQueryAsync(Cancellation);
        }

        await using WebApplicationFactory<Program> logged = Worker.WithWebHostBuilder(b => b.ConfigureServices(s => s.AddFakeLogging()));
        using HttpClient client = logged.CreateClient();
        await Eventually.UntilAsync(async () => await WaitersAsync(blocker, held) > 0, "the first pass to wait on the catalog", Cancellation);
        Assert.Equal(HttpStatusCode.ServiceUnavailable, (await client.GetAsync("/health", Cancellation)).StatusCode);

        await held.CommitAsync(Cancellation);
        await WaitUntilHealthyAsync(client);
        var catalog = logged.Services.GetRequiredService<ITenantCatalog>();
        Assert.All(await catalog.ListAsync(Cancellation), t => Assert.Equal(MigrationState.Ready, t.State)); // ready implies migrated
        Assert.Equal(2, (await catalog.ListAsync(Cancellation)).Count);

        // Not ready yet is no fault: a warning, never an error-level line an operator would take for one.
        IReadOnlyList<FakeLogRecord> logs = logged.Services.GetFakeLogCollector().GetSnapshot();
        Assert.Contains(logs, r => r.Level == LogLevel.Warning && r.Message.Contains("first migration pass is still running", StringComparison.Ordinal));
        Assert.DoesNotContain(logs, r => r.Level >= LogLevel.Error);
    }

    [Fact]
    public async Task A_seed_tenant_that_can_never_be_registered_is_reported_once_and_the_others_are_seeded()
    {
        await using (var superuser = new NpgsqlConnection(Worker.ConnectionString))
        {
            await superuser.OpenAsync(Cancellation);
            await using var create = new NpgsqlCommand("CREATE SCHEMA taken", superuser); // not a tenant's
            await create.ExecuteNonQueryAsync(Cancellation);
        }

        await using WebApplicationFactory<Program> seeding = Worker.WithWebHostBuilder(b => b
            .UseSetting("Tenancy:SeedTenants:0", "taken")
            .UseSetting("Tenancy:SeedTenants:1", "Not A Name")
            .UseSetting("Tenancy:SeedTenants:2", "seeded")
            .ConfigureServices(s => s.AddFakeLogging()));
        using HttpClient client = seeding.CreateClient();
        await WaitUntilHealthyAsync(client);

        var catalog = seeding.Services.GetRequiredService<ITenantCatalog>();
        Assert.Equal(MigrationState.Ready, (await catalog.FindAsync("seeded", Cancellation))?.State);
        Assert.Null(await catalog.FindAsync("taken", Cancellation));
        IReadOnlyList<FakeLogRecord> refused = [.. seeding.Services.GetFakeLogCollector().GetSnapshot().Where(r => r.Level == LogLevel.Error)];
        Assert.Equal(2, refused.Count);
        Assert.Contains(refused, r => r.Message.StartsWith("Seed tenant taken not registered", StringComparison.Ordinal));
        Assert.Contains(refused, r => r.Message.StartsWith("Seed tenant Not A Name not registered", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_new_registration_is_migrated_promptly()
    {
        using HttpClient client = Worker.CreateClient();
        await WaitUntilHealthyAsync(client);

        var catalog = Worker.Service<ITenantCatalog>();
        // Registered the moment the Worker is ready: it listens before its first pass, so this cannot fall between.
        await catalog.CreateAsync("late", "Late Inc.", Cancellation);

        // Against a poll interval of an hour: only the announcement can have woken the Worker.
        await Eventually.UntilAsync(async () => (await catalog.FindAsync("late", Cancellation))?.State == MigrationState.Ready, "the new tenant to be migrated", Cancellation);
    }

#if (includeSample && includeJob)
    [Fact]
    public async Task The_sample_job_runs_inside_each_tenants_context()
    {
        await using WebApplicationFactory<Program> logged = Worker.WithWebHostBuilder(b => b.ConfigureServices(s => s.AddFakeLogging()));
        using HttpClient client = logged.CreateClient();
        await WaitUntilHealthyAsync(client);
        await Worker.InsertArticlesAsync("early_a", 3);
        await Worker.InsertArticlesAsync("early_b", 5);

        IReadOnlyDictionary<string, long> counts = await logged.Services.GetRequiredService<ArticleStatsJob>().RunOnceAsync(Cancellation);

        // Each tenant's count is its own: the same DbContext code saw a different schema in each tenant's scope.
        Assert.Equal(3, counts["early_a"]);
        Assert.Equal(5, counts["early_b"]);
        Assert.Null(Tenants.Shared.TenantContext.CurrentTenant);

        // And each tenant's log lines carry its tenant, as a request's do (the job's own first round may have logged too).
        FakeLogRecord[] lines = [.. logged.Services.GetFakeLogCollector().GetSnapshot().Where(r => r.Category == typeof(ArticleStatsJob).FullName)];
        string[] counted = [.. lines.Select(r => $"{TenantOf(r)}:{r.StructuredState?.SingleOrDefault(p => p.Key == "Articles").Value}")];
        Assert.Contains("early_a:3", counted);
        Assert.Contains("early_b:5", counted);
        Assert.All(lines, r => Assert.NotNull(TenantOf(r)));
    }

    private static string? TenantOf(FakeLogRecord record) =>
        record.Scopes.OfType<IEnumerable<KeyValuePair<string, object?>>>().SelectMany(s => s).SingleOrDefault(p => p.Key == "tenant.id").Value as string;

    [Fact]
    public async Task The_sample_job_runs_under_each_tenants_plan_and_goes_on_past_a_tenant_it_refuses()
    {
        using HttpClient client = Worker.CreateClient();
        await WaitUntilHealthyAsync(client);
        await Worker.InsertArticlesAsync("early_b", 5);
        await Worker.Service<Tenants.Shared.Capacity.TenantPlans>().SetAsync("early_a", "brief", Cancellation);

        // early_a's count waits on this lock past its plan's statement timeout, and is cancelled.
        await using var blocker = new NpgsqlConnection(Worker.ConnectionString);
        await blocker.OpenAsync(Cancellation);
        await using NpgsqlTransaction held = await blocker.BeginTransactionAsync(Cancellation);
        await using (var take = new NpgsqlCommand("LOCK TABLE early_a.articles IN ACCESS EXCLUSIVE MODE", blocker, held))
        {
            await take.ExecuteNonQueryAsync(Cancellation);
        }

        // Were early_a's statements not bound by its plan, its count would wait until this deadline cancels the round.
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(Cancellation);
        deadline.CancelAfter(Eventually.Ceiling);
        IReadOnlyDictionary<string, long> counts = await Worker.Service<ArticleStatsJob>().RunOnceAsync(deadline.Token);

        Assert.False(counts.ContainsKey("early_a"));
        Assert.Equal(5, counts["early_b"]);
    }
#endif

    /// <summary>Sessions waiting for a lock that another session of this database holds.</summary>
    private static async Task<long> WaitersAsync(NpgsqlConnection connection, NpgsqlTransaction transaction)
    {
        await using var command = new NpgsqlCommand(
            "SELECT count(*) FROM pg_locks l JOIN pg_database d ON d.oid = l.database WHERE NOT l.granted AND d.datname = current_database()",
            connection,
            transaction);
        return (long)(await command.ExecuteScalarAsync(Cancellation))!;
    }

    private static Task WaitUntilHealthyAsync(HttpClient client) =>
        Eventually.UntilAsync(async () => (await client.GetAsync("/health", Cancellation)).StatusCode == HttpStatusCode.OK, "the Worker to report healthy", Cancellation);
}
