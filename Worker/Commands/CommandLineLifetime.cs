namespace Saas.Worker.Commands;

/// <summary>
/// A command's host lifetime: no start-up messages and no signal handlers, so that Ctrl+C reaches the command line's
/// own handler (which cancels the command) instead of stopping a host nobody waits on.
/// </summary>
internal sealed class CommandLineLifetime : IHostLifetime
{
    public Task WaitForStartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
