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
        .AddJsonFile(Path.Combine(ProjectDirectories.Worker, "appsettings.json"))
        .Build();

    public static void Apply(TenancyOptions options) =>
        Configuration.GetSection(TenancyOptions.SectionName).Bind(options);
}
