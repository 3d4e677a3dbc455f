using System.Threading.Channels;
using Microsoft.Extensions.Options;
using Saas.Data;
using Tenants.Shared;
using Tenants.Shared.Catalog;
using Tenants.Shared.Migrations;
using Tenants.Shared.Placement;

namespace Saas.Worker;

/// <summary>
/// Keeps every tenant at the latest migration: one pass at start (readiness waits for it), then a pass whenever a
/// registration is announced, and a poll as the fall-back for announcements nobody heard.
/// </summary>
internal sealed partial class TenantMigrationService(
    TenantMigrationRunner<AppDbContext> runner,
    CatalogNotifications notifications,
    MigrationReadiness readiness,
    ITenantCatalog catalog,
    TenantPlacement placement,
    IConfiguration configuration,
    IOptions<MigrationRunnerOptions> options,
    ILogger<TenantMigrationService> logger) : BackgroundService
{
    /// <summary>Tenants registered at start if missing (Development seeds acme and globex), so a first run has tenants.</summary>
    public const string SeedKey = "Tenancy:SeedTenants";

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        CatalogSubscription subscription = await ListenThenCatchUpAsync(stoppingToken);
        readiness.FirstPassDone();
        await DescribeClusterAsync(stoppingToken);

        var wake = Channel.CreateBounded<bool>(new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropWrite });
        Task listening = ListenAsync(subscription, wake.Writer, stoppingToken);
        while (!stoppingToken.IsCancellationRequested)
        {
            using var poll = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken);
            poll.CancelAfter(options.Value.PollInterval);
            try
            {
                await wake.Reader.ReadAsync(poll.Token);
            }
            catch (OperationCanceledException) when (!stoppingToken.IsCancellationRequested)
            {
                // The poll interval passed without an announcement: look anyway.
            }

            await TryPassAsync(stoppingToken);
        }

        await listening;
    }

    /// <summary>
    /// Seeds, subscribes, then runs the first pass, retrying until all three succeed (the database may still be
    /// starting). Listening comes before the pass: whatever registers after it is heard, whatever came before is in
    /// the catalog the pass reads, so nothing falls between the two.
    /// </summary>
    private async Task<CatalogSubscription> ListenThenCatchUpAsync(CancellationToken stoppingToken)
    {
        while (true)
        {
            CatalogSubscription? subscription = await TrySeedAsync(stoppingToken) ? await TrySubscribeAsync(stoppingToken) : null;
            if (subscription is not null)
            {
                bool passed = false;
                try
                {
                    passed = await TryPassAsync(stoppingToken);
                }
                finally
                {
                    if (!passed)
                    {
                        await subscription.DisposeAsync();
                    }
                }

                if (passed)
                {
                    return subscription;
                }
            }

            await Task.Delay(TimeSpan.FromSeconds(2), stoppingToken);
        }
    }

    /// <summary>Says, once, whether the database is a Citus coordinator, and warns when its tenants stay on it.</summary>
    private async Task DescribeClusterAsync(CancellationToken stoppingToken)
    {
        try
        {
            switch (await placement.ClusterAsync(stoppingToken))
            {
                case { SchemaSharding: true } cluster:
                    LogCitus(cluster);
                    break;
                case { } cluster:
                    LogCitusWithoutSharding(cluster);
                    break;
            }
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            LogClusterUnknown(e);
        }
    }

    private async Task<bool> TrySeedAsync(CancellationToken stoppingToken)
    {
        try
        {
            foreach (string tenant in configuration.GetSection(SeedKey).Get<string[]>() ?? [])
            {
                try
                {
                    await catalog.CreateAsync(tenant, string.Concat(char.ToUpperInvariant(tenant[0]).ToString(), tenant[1..]), stoppingToken);
                }
                catch (Exception e) when (e is SchemaTakenException or InvalidTenantNameException)
                {
                    // No retry makes it succeed: said once, and the other tenants and the first pass go on.
                    LogSeedRefused(tenant, e.Message);
                }
            }

            return true;
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            LogPassFailed(e);
            return false;
        }
    }

    private async Task<bool> TryPassAsync(CancellationToken stoppingToken)
    {
        try
        {
            MigrationRunReport report = await runner.RunAsync(cancellationToken: stoppingToken);
            foreach (TenantRunOutcome failed in report.Outcomes.Where(o => !o.Succeeded))
            {
                LogTenantFailed(failed.Tenant, failed.Attempts, failed.Error);
            }

            return true;
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            LogPassFailed(e);
            return false;
        }
    }

    private async Task<CatalogSubscription?> TrySubscribeAsync(CancellationToken stoppingToken)
    {
        try
        {
            return await notifications.SubscribeAsync([CatalogChannels.Registered], stoppingToken);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            LogListenFailed(e);
            return null;
        }
    }

    private async Task ListenAsync(CatalogSubscription subscription, ChannelWriter<bool> wake, CancellationToken stoppingToken)
    {
        try
        {
            while (true)
            {
                try
                {
                    await foreach (CatalogNotification registered in subscription.ReadAllAsync(stoppingToken))
                    {
                        LogAnnounced(registered.Payload);
                        wake.TryWrite(true);
                    }
                }
                catch (Exception e) when (e is not OperationCanceledException)
                {
                    LogListenFailed(e); // the poll covers the gap until listening again
                }

                await subscription.DisposeAsync();
                CatalogSubscription? again = null;
                while ((again = await TrySubscribeAsync(stoppingToken)) is null)
                {
                    await Task.Delay(TimeSpan.FromSeconds(5), stoppingToken);
                }

                subscription = again;
                wake.TryWrite(true); // registrations while nobody listened: the next pass reads them from the catalog
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // Stopping.
        }
        finally
        {
            await subscription.DisposeAsync();
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Citus coordinator ({Cluster}): each tenant's schema is placed on a worker")]
    private partial void LogCitus(CitusTopology cluster);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Citus coordinator ({Cluster}): tenants stay on the coordinator. ALTER DATABASE ... SET citus.enable_schema_based_sharding = on, then 'tenants migrate --tenant NAME' distributes an existing tenant")]
    private partial void LogCitusWithoutSharding(CitusTopology cluster);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Could not tell whether the database is a Citus coordinator")]
    private partial void LogClusterUnknown(Exception exception);

    [LoggerMessage(Level = LogLevel.Information, Message = "Tenant {Tenant} registered: migrating")]
    private partial void LogAnnounced(string tenant);

    [LoggerMessage(Level = LogLevel.Error, Message = "Tenant {Tenant} failed after {Attempts} attempt(s): {Error}")]
    private partial void LogTenantFailed(string tenant, int attempts, string? error);

    [LoggerMessage(Level = LogLevel.Error, Message = "Seed tenant {Tenant} not registered: {Reason}")]
    private partial void LogSeedRefused(string tenant, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Migration pass failed; retrying")]
    private partial void LogPassFailed(Exception exception);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Listening for registrations failed; polling meanwhile")]
    private partial void LogListenFailed(Exception exception);
}
