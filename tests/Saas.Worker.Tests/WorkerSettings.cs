using Microsoft.Extensions.Configuration;
using Tenants.Shared;

namespace Saas.Worker.Tests;

/// <summary>
/// The Worker's own appsettings.json, so that a test's bare tenancy core (registering tenants before the Worker
/// starts, say) works on the same catalog as the Worker: the shared schema is a template option.
/// </summary>
internal static class WorkerSettings
{
    private static readonly IConfiguration Configuration = new ConfigurationBuilder()
        .AddJsonFile(Path.Combine(WorkerDirectory(), "appsettings.json"))
        .Build();

    public static void Apply(TenancyOptions options) =>
        Configuration.GetSection(TenancyOptions.SectionName).Bind(options);

    private static string WorkerDirectory()
    {
        for (DirectoryInfo? d = new(AppContext.BaseDirectory); d is not null; d = d.Parent)
        {
            if (File.Exists(Path.Combine(d.FullName, "Worker", "appsettings.json")))
            {
                return Path.Combine(d.FullName, "Worker");
            }
        }

        throw new InvalidOperationException("Worker/appsettings.json is not above the test's directory.");
    }
}
