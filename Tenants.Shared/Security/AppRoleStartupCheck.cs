using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Tenants.Shared.Security;

/// <summary>
/// Runs <see cref="AppRoleCheck"/> on the app's connection string as the host starts (in
/// <see cref="IHostedLifecycleService.StartingAsync"/>, before any hosted service's StartAsync) unless the app is its
/// own owner: given an owner connection (the Worker), when both log in as one role; given none (the Api), when the app's
/// role owns the shared schema (or, before the catalog exists, the database). Only development setups use one role for
/// both: that is logged as a warning, and nothing is checked.
/// </summary>
internal sealed partial class AppRoleStartupCheck(string connectionString, OwnerDataSource owner, string sharedSchema, ILogger<AppRoleStartupCheck>? logger) : IHostedLifecycleService
{
    public async Task StartingAsync(CancellationToken cancellationToken)
    {
        bool ownOwner = owner.Given
            ? owner.AppRole is null
            : await AppRoleCheck.OwnsCatalogAsync(connectionString, sharedSchema, cancellationToken).ConfigureAwait(false);
        if (ownOwner)
        {
            if (logger is not null)
            {
                LogOneRole(logger, new Npgsql.NpgsqlConnectionStringBuilder(connectionString).Username ?? "(default)");
            }

            return;
        }

        await AppRoleCheck.EnsureLeastPrivilegedAsync(connectionString, cancellationToken).ConfigureAwait(false);
    }

    public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StartedAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StoppingAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StoppedAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    [LoggerMessage(Level = LogLevel.Warning, Message = "The app and its owner log in as one role, {Role}: the app's connections may do all the owner may (create and drop schemas, grant). For development only: give the owner a connection string of its own (README.md, Security)")]
    private static partial void LogOneRole(ILogger logger, string role);
}
