extern alias Worker;

using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Saas.Data;

namespace Saas.Api.Tests;

/// <summary>
/// The real Worker (in memory) over the Api's database: it creates the catalog, migrates new tenants and carries out
/// operators' requests, which the Api only records, as in the app the AppHost runs. Given
/// <paramref name="ownerConnectionString"/>, it logs in as the app's role and as the owner, as the AppHost deploys it.
/// </summary>
public sealed class WorkerHost(string connectionString, IEnumerable<KeyValuePair<string, string?>> settings, string? ownerConnectionString = null)
    : WebApplicationFactory<Worker::Program>
{
    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        builder.UseEnvironment("Testing");
        KeyValuePair<string, string?>[] connections = ownerConnectionString is null
            ? [new("ConnectionStrings:appdb", connectionString)]
            : [new("ConnectionStrings:appdb", connectionString), new($"ConnectionStrings:{AppDataExtensions.OwnerConnectionName}", ownerConnectionString)];
        foreach ((string key, string? value) in (KeyValuePair<string, string?>[])[.. connections, .. settings])
        {
            builder.UseSetting(key, value);
        }
    }

    /// <summary>Starts it, if it has not started yet.</summary>
    public void Start() => _ = Services;

    /// <summary>Starts it and returns once its health endpoint says ready (its first migration pass done), as the AppHost waits for it.</summary>
    public async Task StartReadyAsync(CancellationToken cancellationToken)
    {
        Start();
        using HttpClient client = CreateClient();
        await Eventually.UntilAsync(async () => (await client.GetAsync("/health", cancellationToken)).IsSuccessStatusCode, "the Worker to be ready", cancellationToken);
    }
}
