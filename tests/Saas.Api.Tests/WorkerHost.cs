extern alias Worker;

using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;

namespace Saas.Api.Tests;

/// <summary>
/// The real Worker (in memory) over the Api's database: it creates the catalog, migrates new tenants and carries out
/// operators' requests, which the Api only records, as in the app the AppHost runs.
/// </summary>
public sealed class WorkerHost(string connectionString, IEnumerable<KeyValuePair<string, string?>> settings) : WebApplicationFactory<Worker::Program>
{
    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        builder.UseEnvironment("Testing");
        foreach ((string key, string? value) in (KeyValuePair<string, string?>[])[new("ConnectionStrings:appdb", connectionString), .. settings])
        {
            builder.UseSetting(key, value);
        }
    }

    /// <summary>Starts it, if it has not started yet.</summary>
    public void Start() => _ = Services;
}
