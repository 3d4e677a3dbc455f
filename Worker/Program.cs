using Microsoft.Extensions.Logging.Console;
using Microsoft.Extensions.Options;
using Saas.Api.Infrastructure;
using Saas.Worker.Commands;
using Saas.Worker.Extensions;
using Tenants.Shared.Catalog;
using Tenants.Shared.Migrations;

namespace Saas.Worker;

/// <summary>The Worker's entry point: the hosted Worker, or the operators' `tenants` command line.</summary>
public sealed class Program
{
    private Program()
    {
    }

    // Not top-level statements: the Api's Program (referenced for its data) would collide with this one.
    public static async Task<int> Main(string[] args)
    {
        if (args is ["tenants", .. var command])
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

        WebApplicationBuilder builder = WebApplication.CreateBuilder(args);
        builder.AddServiceDefaults();
        builder.AddTenantData();
        builder.AddBackgroundWork();
        WebApplication app = builder.Build();
        app.MapDefaultEndpoints();
        await app.RunAsync();
        return 0;
    }
}
