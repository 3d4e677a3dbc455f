using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Tenants.Shared.Catalog;

/// <summary>
/// This process's ear on the catalog: it LISTENs for changed tenants and operator requests, so that a change made by
/// another process reaches this one at once. Cached look-ups of a changed tenant are forgotten (all of them after
/// listening was interrupted, since announcements may have been missed), and callers waiting on the owner's process
/// (<see cref="WaitUntilAsync"/>) wake up to look again.
/// </summary>
public sealed partial class TenantChanges(CatalogNotifications notifications, TenantCatalog catalog, ILogger<TenantChanges> logger) : BackgroundService
{
    private static readonly TimeSpan Recheck = TimeSpan.FromSeconds(1);
    private TaskCompletionSource _announced = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Raised with a tenant's name when it changed, or with null when any tenant may have changed.</summary>
    public event Action<string?>? Changed;

    /// <summary>
    /// Checks <paramref name="condition"/> again on each announcement (and every second, for one that was missed) until it
    /// holds, or <paramref name="within"/> has passed; returns whether it held.
    /// </summary>
    public async Task<bool> WaitUntilAsync(Func<CancellationToken, Task<bool>> condition, TimeSpan within, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(condition);
        using var limit = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        limit.CancelAfter(within);
        try
        {
            while (true)
            {
                // Taken before the check: an announcement that comes after it still wakes this wait.
                Task announced = Volatile.Read(ref _announced).Task;
                if (await condition(limit.Token).ConfigureAwait(false))
                {
                    return true;
                }

                await Task.WhenAny(announced, Task.Delay(Recheck, limit.Token)).ConfigureAwait(false);
                limit.Token.ThrowIfCancellationRequested();
            }
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return false;
        }
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await using CatalogSubscription subscription = await notifications.SubscribeAsync([CatalogChannels.Changed, CatalogChannels.Requests], stoppingToken).ConfigureAwait(false);
                Announce(null); // whatever changed before listening
                await foreach (CatalogNotification notification in subscription.ReadAllAsync(stoppingToken).ConfigureAwait(false))
                {
                    Announce(notification.Channel == CatalogChannels.Changed ? notification.Payload : string.Empty);
                }
            }
            catch (Exception e) when (!stoppingToken.IsCancellationRequested)
            {
                LogListenFailed(e);
            }

            Announce(null);
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

    /// <param name="tenant">The tenant that changed; null for any; empty for none (a request's announcement).</param>
    private void Announce(string? tenant)
    {
        if (tenant is not { Length: 0 })
        {
            catalog.Forget(tenant);
            Changed?.Invoke(tenant);
        }

        Interlocked.Exchange(ref _announced, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).TrySetResult();
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Listening for catalog changes failed; cached tenants are forgotten and listening starts again")]
    private partial void LogListenFailed(Exception exception);
}
