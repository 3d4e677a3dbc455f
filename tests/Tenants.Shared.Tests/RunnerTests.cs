using System.Diagnostics.Metrics;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;
using Tenants.Shared.Migrations;

namespace Tenants.Shared.Tests;

public sealed class RunnerTests(PostgresFixture postgres) : DatabaseTest(postgres)
{
    [Fact]
    public async Task Two_hundred_tenants_are_migrated_and_a_second_pass_applies_nothing()
    {
        string[] tenants = await RegisterAsync("run", 200);
        var progress = new List<MigrationProgress>();

        MigrationRunReport first = await Host.Runner.RunAsync(progress: new SyncProgress(progress), cancellationToken: Cancellation);
        Assert.Equal(200, first.Migrated);
        Assert.Equal(0, first.Failed);
        Assert.All(first.Outcomes, o => Assert.True(o.AppliedCount > 0));
        Assert.Equal(200, progress.Max(p => p.Done));
        await AssertAllReadyAtAsync(tenants, first.LatestMigration);

        // Nothing pending: the catalog says so in one query, and no tenant is touched.
        MigrationRunReport second = await Host.Runner.RunAsync(cancellationToken: Cancellation);
        Assert.Empty(second.Outcomes);
        Assert.Equal(200, second.Registered);
        Assert.Equal(0, await CountAsync("SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'public'"));
    }

    [Fact]
    public async Task Two_runners_at_once_apply_every_migration_exactly_once()
    {
        string[] tenants = await RegisterAsync("twin", 40);
        await using var other = new TenancyHost(ConnectionString);
        MigrationRunReport[] reports = await Task.WhenAll(
            Task.Run(() => Host.Runner.RunAsync(cancellationToken: Cancellation), Cancellation),
            Task.Run(() => other.Runner.RunAsync(cancellationToken: Cancellation), Cancellation));

        Assert.All(reports, r => Assert.Equal(0, r.Failed));
        int perTenant = Host.Runner.LatestMigration() is null ? 0 : 1;
        foreach (string tenant in tenants)
        {
            // Applied once in all, whichever runner did it; the history has each migration once.
            Assert.Equal(perTenant, reports.SelectMany(r => r.Outcomes).Where(o => o.Tenant == tenant).Sum(o => o.AppliedCount));
            Assert.Equal(perTenant, await CountAsync($"SELECT count(*) FROM {PgIdentifier.Quote(tenant)}.\"__EFMigrationsHistory\""));
        }
    }

    [Fact]
    public async Task A_cancelled_pass_leaves_nothing_the_next_pass_cannot_finish()
    {
        string[] tenants = await RegisterAsync("cut", 60);
        using var cut = new CancellationTokenSource();
        var progress = new SyncProgress([], p =>
        {
            if (p.Done >= 10)
            {
                cut.Cancel(); // mid-run: some tenants done, some under way, most not started
            }
        });
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => Host.Runner.RunAsync(progress: progress, cancellationToken: cut.Token));
        Assert.NotEmpty(await Host.Catalog.BehindAsync(Host.Runner.LatestMigration(), Cancellation));

        MigrationRunReport resumed = await Host.Runner.RunAsync(cancellationToken: Cancellation);
        Assert.Equal(0, resumed.Failed);
        await AssertAllReadyAtAsync(tenants, resumed.LatestMigration);
    }

    [Fact]
    public async Task A_broken_tenant_is_reported_failed_with_its_error_and_every_other_tenant_is_ready()
    {
        string[] tenants = await RegisterAsync("brk", 12);
        // The tenant's own schema (marked as the migrator marks it), with a table in the way of its migration.
        await using (NpgsqlCommand sabotage = Host.DataSource.Unrouted.CreateCommand(
            $"CREATE SCHEMA brk_05; COMMENT ON SCHEMA brk_05 IS {Security.TenantSchemas.Mark("brk_05")}; CREATE TABLE brk_05.notes (x int)"))
        {
            await sabotage.ExecuteNonQueryAsync(Cancellation);
        }

        await using var quick = new TenancyHost(ConnectionString, services: s => s.Configure<MigrationRunnerOptions>(o => o.RetryDelay = TimeSpan.FromMilliseconds(10)));
        MigrationRunReport report = await quick.Runner.RunAsync(cancellationToken: Cancellation);

        TenantRunOutcome broken = Assert.Single(report.Outcomes, o => !o.Succeeded);
        Assert.Equal("brk_05", broken.Tenant);
        Assert.Equal(3, broken.Attempts);
        Assert.Contains("already exists", broken.Error, StringComparison.Ordinal);
        Assert.Equal(11, report.Migrated);

        TenantRecord record = (await Host.Catalog.FindAsync("brk_05", Cancellation))!;
        Assert.Equal(MigrationState.Failed, record.State);
        Assert.Equal(3, record.Attempts);
        await AssertAllReadyAtAsync([.. tenants.Where(t => t != "brk_05")], report.LatestMigration);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(10)]
    public async Task A_pass_over_twenty_tenants_with_an_owner_pool_of_four_succeeds_and_never_waits_on_that_pool(int maxParallelism)
    {
        // The app pool keeps Npgsql's default size (100); the owner's is 4, and each tenant under way holds two of it.
        // Parallelism 0 derives it; 10 asks for more than that pool can serve.
        string marker = $"owner_pool_{Guid.NewGuid():N}";
        string owner = new NpgsqlConnectionStringBuilder(ConnectionString) { MaxPoolSize = 4, ApplicationName = marker }.ConnectionString;
        await using var host = new TenancyHost(
            ConnectionString,
            services: s => s.Configure<MigrationRunnerOptions>(o => o.MaxParallelism = maxParallelism),
            ownerConnectionString: owner);
        foreach (string tenant in Enumerable.Range(0, 20).Select(i => $"pool_{i:D2}"))
        {
            await host.Registry.RegisterAsync(tenant, Cancellation);
        }

        using var waits = new PoolWaits(marker);
        MigrationRunReport report = await host.Runner.RunAsync(cancellationToken: Cancellation);
        Assert.Equal((20, 0), (report.Migrated, report.Failed));
        Assert.True(waits.SawPool, "no Npgsql measurement named the owner's pool");
        Assert.Equal(0, waits.MostPending);
    }

    [Fact]
    public async Task An_owner_pool_too_small_to_migrate_one_tenant_fails_the_pass_naming_the_pool_size_and_migrates_nothing()
    {
        string owner = new NpgsqlConnectionStringBuilder(ConnectionString) { MaxPoolSize = 1 }.ConnectionString;
        await using var host = new TenancyHost(ConnectionString, ownerConnectionString: owner);
        await host.Registry.RegisterAsync("tiny_pool", Cancellation);

        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => host.Runner.RunAsync(cancellationToken: Cancellation));
        Assert.Contains("Maximum Pool Size is 1", error.Message, StringComparison.Ordinal);
        Assert.Equal(MigrationState.Pending, (await host.Catalog.FindAsync("tiny_pool", Cancellation))!.State);
    }

    private async Task<string[]> RegisterAsync(string prefix, int count)
    {
        string[] tenants = [.. Enumerable.Range(0, count).Select(i => $"{prefix}_{i:D2}")];
        foreach (string tenant in tenants)
        {
            await Host.Registry.RegisterAsync(tenant, Cancellation);
        }

        return tenants;
    }

    private async Task AssertAllReadyAtAsync(IEnumerable<string> tenants, string? latest)
    {
        Dictionary<string, TenantRecord> records = (await Host.Catalog.ListAsync(Cancellation)).ToDictionary(r => r.Name);
        foreach (string tenant in tenants)
        {
            Assert.Equal(MigrationState.Ready, records[tenant].State);
            Assert.Equal(latest, records[tenant].LastMigration);
            Assert.Equal(1, await CountAsync($"SELECT count(*) FROM pg_tables WHERE schemaname = '{tenant}' AND tablename = 'notes'"));
        }
    }

    private async Task<long> CountAsync(string sql)
    {
        await using NpgsqlCommand command = Host.DataSource.Unrouted.CreateCommand(sql);
        return (long)(await command.ExecuteScalarAsync(Cancellation))!;
    }

    /// <summary>Reports on the caller's thread, unlike Progress{T}, so assertions see every report.</summary>
    private sealed class SyncProgress(List<MigrationProgress> seen, Action<MigrationProgress>? onReport = null) : IProgress<MigrationProgress>
    {
        public void Report(MigrationProgress value)
        {
            lock (seen)
            {
                seen.Add(value);
            }

            onReport?.Invoke(value);
        }
    }

    /// <summary>
    /// Npgsql's own count of requests waiting for a connection of one pool (the pool's name carries
    /// a marker): the most ever pending at once, and whether any measurement named that pool at all.
    /// </summary>
    private sealed class PoolWaits : IDisposable
    {
        private readonly MeterListener _listener = new();
        private readonly string _marker;
        private int _pending;
        private int _mostPending;
        private int _sawPool;

        public PoolWaits(string marker)
        {
            _marker = marker;
            _listener.InstrumentPublished = (instrument, listener) =>
            {
                if (instrument.Meter.Name == "Npgsql")
                {
                    listener.EnableMeasurementEvents(instrument);
                }
            };
            _listener.SetMeasurementEventCallback<int>((instrument, value, tags, _) => Record(instrument, value, tags));
            _listener.SetMeasurementEventCallback<long>((instrument, value, tags, _) => Record(instrument, value, tags));
            _listener.SetMeasurementEventCallback<double>((instrument, _, tags, _) => Record(instrument, 0, tags));
            _listener.Start();
        }

        public bool SawPool => Volatile.Read(ref _sawPool) == 1;

        public int MostPending => Volatile.Read(ref _mostPending);

        public void Dispose() => _listener.Dispose();

        private void Record(Instrument instrument, long value, ReadOnlySpan<KeyValuePair<string, object?>> tags)
        {
            bool ours = false;
            foreach (KeyValuePair<string, object?> tag in tags)
            {
                ours |= tag.Value is string name && name.Contains(_marker, StringComparison.Ordinal);
            }

            if (!ours)
            {
                return;
            }

            Volatile.Write(ref _sawPool, 1);
            if (instrument.Name.EndsWith("pending_requests", StringComparison.Ordinal))
            {
                int pending = Interlocked.Add(ref _pending, (int)value);
                int most;
                while (pending > (most = Volatile.Read(ref _mostPending)) && Interlocked.CompareExchange(ref _mostPending, pending, most) != most)
                {
                }
            }
        }
    }
}
