extern alias Worker;

using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Security.Claims;
using System.Security.Cryptography;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;
using Postgres.Testing;

namespace Benchmarks;

/// <summary>
/// A new tenant through the path users take: POST /tenants on the Api (which only records the request), the Worker
/// hearing it and migrating the schema, the Api's 201, then the tenant's first request. Real Api and Worker, in
/// memory, over one database, an operator's JWT as the Api validates it.
/// </summary>
internal static class RequestPathProvisioning
{
    private const string Issuer = "tenant-saas-bench";

    public static async Task<List<double>> MeasureAsync(PostgresCluster cluster, int samples)
    {
        string database = await cluster.CreateDatabaseAsync();
        byte[] key = RandomNumberGenerator.GetBytes(32);
        KeyValuePair<string, string?>[] settings =
        [
            new("ConnectionStrings:appdb", database),
            new("Logging:LogLevel:Default", "Warning"),
            new("Authentication:Schemes:Bearer:ValidIssuer", Issuer),
            new("Authentication:Schemes:Bearer:ValidAudiences:0", Issuer),
            new("Authentication:Schemes:Bearer:SigningKeys:0:Issuer", Issuer),
            new("Authentication:Schemes:Bearer:SigningKeys:0:Value", Convert.ToBase64String(key)),
            new("Authentication:Schemes:Bearer:SigningKeys:0:Length", "32"),
        ];

        // The Worker first, as the AppHost starts it: the Api needs the catalog it creates.
        await using var worker = new Host<Worker::Program>("Worker", settings);
        using (HttpClient probe = worker.CreateClient())
        {
            await Eventually.UntilAsync(async () => (await probe.GetAsync("/health")).IsSuccessStatusCode, "the Worker to be ready", CancellationToken.None);
        }

        await using var api = new Host<Saas.Api.Tenancy.TenantResolutionMiddleware>("Api", settings);
        using HttpClient client = api.CreateClient();
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", AdminToken(key));

        var latencies = new List<double>();
        for (int i = 0; i < samples; i++)
        {
            string name = $"req_{i:D4}";
            var clock = Stopwatch.StartNew();
            using (HttpResponseMessage created = await client.PostAsJsonAsync("/tenants", new { name, displayName = name }))
            {
                if (created.StatusCode != HttpStatusCode.Created)
                {
                    throw new InvalidOperationException($"POST /tenants {name}: {(int)created.StatusCode} {await created.Content.ReadAsStringAsync()}");
                }
            }

            using (HttpResponseMessage first = await client.GetAsync($"/t/{name}/tenant"))
            {
                if (!first.IsSuccessStatusCode)
                {
                    throw new InvalidOperationException($"GET /t/{name}/tenant: {(int)first.StatusCode} {await first.Content.ReadAsStringAsync()}");
                }
            }

            latencies.Add(clock.Elapsed.TotalMilliseconds);
        }

        latencies.Sort();
        return latencies;
    }

    private static string AdminToken(byte[] key) => new JsonWebTokenHandler().CreateToken(new SecurityTokenDescriptor
    {
        Issuer = Issuer,
        Audience = Issuer,
        Subject = new ClaimsIdentity([new Claim("sub", "bench-operator"), new Claim("role", "admin")]),
        Expires = DateTime.UtcNow.AddHours(1),
        SigningCredentials = new SigningCredentials(new SymmetricSecurityKey(key), SecurityAlgorithms.HmacSha256),
    });

    /// <summary>An app of the solution, in memory, with the given settings and its production configuration otherwise.</summary>
    private sealed class Host<TEntryPoint>(string project, IEnumerable<KeyValuePair<string, string?>> settings) : WebApplicationFactory<TEntryPoint>
        where TEntryPoint : class
    {
        protected override void ConfigureWebHost(IWebHostBuilder builder)
        {
            builder.UseContentRoot(BenchTenant.ProjectDirectory(project)); // its appsettings.json, as when it runs
            builder.UseEnvironment("Production");
            foreach ((string name, string? value) in settings)
            {
                builder.UseSetting(name, value);
            }
        }
    }
}
