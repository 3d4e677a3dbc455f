using System.Threading.Channels;
using Microsoft.Extensions.Options;
using Saas.Api.Infrastructure;
using Tenants.Shared.Catalog;
using Tenants.Shared.Migrations;

namespace Saas.Worker;

/// <summary>
/// Keeps every tenant at the latest migration: one pass at start (readiness waits for it), then a pass whenever a
/// registration is announced, and a poll as the fall-back for announcements nobody heard.
/// </summary>
internal sealed partial class TenantMigrationService(
    TenantMigrationRunner<AppDbContext> runner,
    TenantRegistrations registrations,
    MigrationReadiness readiness,
    ITenantCatalog catalog,
    IConfiguration configuration,
    IOptions<MigrationRunnerOptions> options,
    ILogger<TenantMigrationService> logger) : BackgroundService
{
    /// <summary>Tenants registered at start if missing (Development seeds acme and globex), so a first run has tenants.</summary>
    public const string SeedKey = "Tenancy:SeedTenants";

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        while (!await TrySeedAsync(stoppingToken) || !await TryPassAsync(stoppingToken))
        {
            await Task.Delay(TimeSpan.FromSeconds(2), stoppingToken); // the database may still be starting
        }

        readiness.FirstPassDone();

        var wake = Channel.CreateBounded<bool>(new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropWrite });
        Task listening = ListenAsync(wake.Writer, stoppingToken);
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

    private async Task<bool> TrySeedAsync(CancellationToken stoppingToken)
    {
        try
        {
            foreach (string tenant in configuration.GetSection(SeedKey).Get<string[]>() ?? [])
            {
                await catalog.CreateAsync(tenant, string.Concat(char.ToUpperInvariant(tenant[0]).ToString(), tenant[1..]), stoppingToken);
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

    private async Task ListenAsync(ChannelWriter<bool> wake, CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await foreach (string tenant in registrations.ListenAsync(stoppingToken))
                {
                    LogAnnounced(tenant);
                    wake.TryWrite(true);
                }
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                LogListenFailed(e); // the poll covers the gap; listen again shortly
                await Task.Delay(TimeSpan.FromSeconds(5), stoppingToken).ContinueWith(_ => { }, TaskScheduler.Default);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Tenant {Tenant} registered: migrating")]
    private partial void LogAnnounced(string tenant);

    [LoggerMessage(Level = LogLevel.Error, Message = "Tenant {Tenant} failed after {Attempts} attempt(s): {Error}")]
    private partial void LogTenantFailed(string tenant, int attempts, string? error);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Migration pass failed; retrying")]
    private partial void LogPassFailed(Exception exception);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Listening for registrations failed; polling meanwhile")]
    private partial void LogListenFailed(Exception exception);
}
