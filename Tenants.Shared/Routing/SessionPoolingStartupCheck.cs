using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace Tenants.Shared.Routing;

/// <summary>
/// Runs <see cref="SessionPoolingCheck"/> on the app's and the owner's connection strings as the host starts. It
/// runs in <see cref="IHostedLifecycleService.StartingAsync"/>, before any hosted service's StartAsync: the Api never
/// listens and the Worker never migrates through a pooler that would carry one tenant's session to another client.
/// </summary>
internal sealed class SessionPoolingStartupCheck(string connectionString, string? ownerConnectionString, IOptions<TenancyOptions> options) : IHostedLifecycleService
{
    public async Task StartingAsync(CancellationToken cancellationToken)
    {
        string shared = options.Value.SharedSchema;
        await SessionPoolingCheck.EnsureSessionStateAsync(connectionString, shared, "connection string", cancellationToken).ConfigureAwait(false);
        if (ownerConnectionString is not null && !string.Equals(ownerConnectionString, connectionString, StringComparison.Ordinal))
        {
            await SessionPoolingCheck.EnsureSessionStateAsync(ownerConnectionString, shared, "owner connection string", cancellationToken).ConfigureAwait(false);
        }
    }

    public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StartedAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StoppingAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StoppedAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
