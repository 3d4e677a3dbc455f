using System.Text.RegularExpressions;
using Microsoft.Extensions.Options;
using Npgsql;
using Saas.Data;
using Saas.Worker.Extensions;

namespace Saas.Worker.Commands;

/// <summary>
/// Runs one command in a host of its own: the Worker's configuration and tenant data, no hosted work, no console logs
/// (the command's output is its report). Every failure ends as one line on stderr, never with a password in it.
/// </summary>
internal static partial class CommandHost
{
    public static async Task<int> RunAsync(Func<IServiceProvider, CancellationToken, Task<int>> command, TextWriter error, CancellationToken cancellationToken)
    {
        // The output folder holds the Worker's appsettings.json, whatever folder the operator runs it from.
        HostApplicationBuilder builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { ContentRootPath = AppContext.BaseDirectory });
        string?[] connectionStrings = [.. ConnectionNames.Select(builder.Configuration.GetConnectionString)];
        try
        {
            await EnsureConnectableAsync(builder.Configuration, cancellationToken);
            builder.Logging.ClearProviders();
            builder.AddTenantData();
            using IHost host = builder.Build();
            try
            {
                // Starting runs the start-up checks: options, and a pooler in transaction mode.
                await host.StartAsync(cancellationToken);
            }
            catch (Exception e) when (e is InvalidOperationException or OptionsValidationException or NotSupportedException or ArgumentException)
            {
                throw CommandFailure.Usage(e.Message);
            }

            int exit = await command(host.Services, cancellationToken);
            await host.StopAsync(CancellationToken.None);
            return exit;
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            return await FailAsync(error, ExitCodes.Interrupted, "interrupted", connectionStrings);
        }
        catch (CommandFailure e)
        {
            return await FailAsync(error, e.ExitCode, e.Message, connectionStrings);
        }
        catch (NpgsqlException e)
        {
            // The server went away, or refused the owner something it needs (CREATEROLE, say): configuration, not a tenant.
            return await FailAsync(error, ExitCodes.UsageOrConfiguration, $"database error: {Reason(e)}", connectionStrings);
        }
        catch (Exception e)
        {
            return await FailAsync(error, ExitCodes.TenantFailed, $"{e.GetType().Name}: {e.Message}", connectionStrings);
        }
    }

    private static string[] ConnectionNames => [AppDataExtensions.DatabaseName, AppDataExtensions.OwnerConnectionName];

    /// <summary>Connects once with each connection string, so that a wrong one is named, with what the server or network said.</summary>
    private static async Task EnsureConnectableAsync(IConfiguration configuration, CancellationToken cancellationToken)
    {
        if (string.IsNullOrWhiteSpace(configuration.GetConnectionString(AppDataExtensions.DatabaseName)))
        {
            throw CommandFailure.Usage(
                $"ConnectionStrings:{AppDataExtensions.DatabaseName} is not set: set ConnectionStrings__{AppDataExtensions.DatabaseName} " +
                $"(and ConnectionStrings__{AppDataExtensions.OwnerConnectionName}) in the environment.");
        }

        foreach (string name in ConnectionNames)
        {
            if (configuration.GetConnectionString(name) is { Length: > 0 } connectionString)
            {
                await ConnectAsync(name, connectionString, cancellationToken);
            }
        }
    }

    private static async Task ConnectAsync(string name, string connectionString, CancellationToken cancellationToken)
    {
        NpgsqlConnectionStringBuilder settings;
        try
        {
            settings = new NpgsqlConnectionStringBuilder(connectionString) { Pooling = false, Multiplexing = false }; // one plain session
        }
        catch (Exception e) when (e is ArgumentException or FormatException)
        {
            throw CommandFailure.Usage($"ConnectionStrings:{name} is not a valid connection string: {e.Message}");
        }

        try
        {
            await using var connection = new NpgsqlConnection(settings.ConnectionString);
            await connection.OpenAsync(cancellationToken);
        }
        catch (NpgsqlException e)
        {
            throw CommandFailure.Usage(
                $"cannot connect with ConnectionStrings:{name} (Host={settings.Host};Port={settings.Port};Database={settings.Database};Username={settings.Username}): {Reason(e)}");
        }
    }

    private static string Reason(NpgsqlException e) => e switch
    {
        PostgresException p => $"{p.MessageText} ({p.SqlState})",
        { InnerException: { } inner } => $"{e.Message}: {inner.Message}",
        _ => e.Message,
    };

    private static async Task<int> FailAsync(TextWriter error, int exitCode, string message, string?[] connectionStrings)
    {
        foreach (string password in connectionStrings.SelectMany(Passwords))
        {
            message = message.Replace(password, "***", StringComparison.Ordinal);
        }

        await error.WriteLineAsync($"tenants: {message.ReplaceLineEndings(" ")}");
        return exitCode;
    }

    // Read leniently: a connection string too broken to parse may still hold a password.
    private static IEnumerable<string> Passwords(string? connectionString) =>
        connectionString is null
            ? []
            : PasswordPattern().Matches(connectionString).Select(m => m.Groups["value"].Value.Trim('\'', '"', ' ')).Where(p => p.Length > 0);

    [GeneratedRegex(@"(?:^|;)\s*(?:password|pwd)\s*=\s*(?<value>[^;]*)", RegexOptions.IgnoreCase)]
    private static partial Regex PasswordPattern();
}
