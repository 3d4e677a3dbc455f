extern alias Api;

using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.Extensions.DependencyInjection;

namespace Saas.Worker.Tests;

/// <summary>
/// The real Api (in memory) beside the Worker, over the same database, with its own appsettings.json. Anonymous
/// callers name tenants by route (demo mode), so that a test needs no tokens.
/// </summary>
public sealed class ApiHost(string connectionString) : WebApplicationFactory<Api::Program>
{
    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        builder.UseContentRoot(ProjectDirectories.Api);
        builder.UseEnvironment("Testing");
        builder.UseSetting("ConnectionStrings:appdb", connectionString);
        builder.UseSetting("Tenancy:Resolution:RequireAuthenticatedMember", "false");
        builder.UseSetting("Logging:LogLevel:Default", "Warning");
    }

    public T Service<T>()
        where T : notnull => Services.GetRequiredService<T>();
}
