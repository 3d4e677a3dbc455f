namespace Saas.Worker.Commands;

/// <summary>Ends a command with <paramref name="exitCode"/> and <paramref name="message"/> as its one line on stderr.</summary>
internal sealed class CommandFailure(int exitCode, string message) : Exception(message)
{
    public int ExitCode { get; } = exitCode;

    public static CommandFailure Usage(string message) => new(ExitCodes.UsageOrConfiguration, message);

    public static CommandFailure Tenant(string message) => new(ExitCodes.TenantFailed, message);
}
