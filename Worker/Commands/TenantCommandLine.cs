using Microsoft.Extensions.Logging.Console;
using Microsoft.Extensions.Options;
using Saas.Data;
using Saas.Worker.Extensions;
using Tenants.Shared.Catalog;
using Tenants.Shared.Migrations;

namespace Saas.Worker.Commands;

/// <summary>The operators' command line as a process: a host with the tenant data only, then one command.</summary>
internal static class TenantCommandLine
{
    public static async Task<int> RunAsync(string[] args, string[] command)
    {
        HostApplicationBuilder cli = Host.CreateApplicationBuilder(args);
        cli.Services.Configure<ConsoleLoggerOptions>(o => o.LogToStandardErrorThreshold = LogLevel.Trace); // stdout is the report
        cli.AddTenantData();
        using IHost host = cli.Build();
        try
        {
            // Starting runs the start-up checks (options, a pooler in transaction mode); there is no hosted work here.
            await host.StartAsync();
        }
        catch (Exception e) when (e is InvalidOperationException or OptionsValidationException or NotSupportedException)
        {
            await Console.Error.WriteLineAsync(e.Message);
            return 2;
        }

        var commands = new TenantCommands(
            host.Services.GetRequiredService<ITenantCatalog>(),
            host.Services.GetRequiredService<TenantMigrationRunner<AppDbContext>>(),
            Console.Out,
            Console.Error);
        int exit = await commands.RunAsync(command, CancellationToken.None);
        await host.StopAsync();
        return exit;
    }
}
