using System.Threading.Channels;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Tenants.Shared.Catalog;
using Tenants.Shared.Migrations;

namespace Tenants.Shared.Offboarding;

/// <summary>
/// Carries out operator requests in the owner's process: every pending one at start, then each as it is announced,
/// with a poll as the fall-back for announcements nobody heard (<see cref="MigrationRunnerOptions.PollInterval"/>).
/// </summary>
public sealed partial class TenantRequestProcessor(
    TenantRequests requests,
    CatalogNotifications notifications,
    IOptions<MigrationRunnerOptions> options,
    ILogger<TenantRequestProcessor> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await using CatalogSubscription subscription = await notifications.SubscribeAsync([CatalogChannels.Requests], stoppingToken).ConfigureAwait(false);
                var wake = Channel.CreateBounded<bool>(new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropWrite });
                Task pump = PumpAsync(subscription, wake.Writer, stoppingToken);
                do
                {
                    await CarryOutPendingAsync(stoppingToken).ConfigureAwait(false);
                }
                while (await AnnouncedOrPollAsync(wake.Reader, stoppingToken).ConfigureAwait(false));

                await pump.ConfigureAwait(false);
            }
            catch (Exception e) when (!stoppingToken.IsCancellationRequested)
            {
                LogFailed(e);
            }

            try
            {
                await Task.Delay(TimeSpan.FromSeconds(2), stoppingToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    // Each announcement wakes the loop; the channel completes (with the error, if any) when the subscription ends.
    private static async Task PumpAsync(CatalogSubscription subscription, ChannelWriter<bool> wake, CancellationToken stoppingToken)
    {
        try
        {
            await foreach (CatalogNotification _ in subscription.ReadAllAsync(stoppingToken).ConfigureAwait(false))
            {
                wake.TryWrite(true);
            }

            wake.TryComplete();
        }
        catch (Exception e)
        {
            wake.TryComplete(e);
        }
    }

    // True when there may be work: an announcement came, or the poll interval passed; false once listening has ended.
    private async Task<bool> AnnouncedOrPollAsync(ChannelReader<bool> wake, CancellationToken stoppingToken)
    {
        using var poll = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken);
        poll.CancelAfter(options.Value.PollInterval);
        try
        {
            bool open = await wake.WaitToReadAsync(poll.Token).ConfigureAwait(false);
            wake.TryRead(out _);
            return open;
        }
        catch (OperationCanceledException) when (!stoppingToken.IsCancellationRequested)
        {
            return true;
        }
    }

    private async Task CarryOutPendingAsync(CancellationToken stoppingToken)
    {
        while (await requests.CarryOutNextAsync(stoppingToken).ConfigureAwait(false) is { } request)
        {
            LogCarriedOut(request.Id, request.Action, request.Tenant, request.RequestedBy, request.State, request.Outcome);
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Request {Id}: {Action} {Tenant} for {RequestedBy}: {State} ({Outcome})")]
    private partial void LogCarriedOut(long id, TenantRequestAction action, string tenant, string requestedBy, TenantRequestState state, string? outcome);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Carrying out tenant requests failed; listening again")]
    private partial void LogFailed(Exception exception);
}
