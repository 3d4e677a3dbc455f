namespace Saas.Worker.Commands;

/// <summary>The command line's exit codes, as README.md documents them.</summary>
internal static class ExitCodes
{
    /// <summary>Done as asked.</summary>
    public const int Success = 0;

    /// <summary>A tenant failed or was refused (a migration failed, an active tenant cannot be deleted, no such tenant).</summary>
    public const int TenantFailed = 1;

    /// <summary>Nothing was done: a usage error, or the configuration (connection strings, credentials, pooler) is wrong.</summary>
    public const int UsageOrConfiguration = 2;

    /// <summary>Interrupted by the operator (Ctrl+C), as shells report SIGINT.</summary>
    public const int Interrupted = 130;
}
