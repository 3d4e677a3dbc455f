using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.TestHost;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Npgsql;
using Saas.Api.Model;
using Tenants.Shared;

namespace Saas.Api.Tests;

/// <summary>
/// The real Api pipeline (in memory, or on a loopback port after <c>UseKestrel</c>) over a real PostgreSQL database of its own, beside the real Worker (started first,
/// as the AppHost starts it; <see cref="Worker"/>), resolving tenants in the order <paramref name="strategies"/> gives
/// (<see cref="StrategyOrders.ClaimFirst"/> by default, whatever the template was generated with);
/// <paramref name="services"/> may replace the Api's services after its own (a clock, a log collector). Given
/// <paramref name="logins"/> (<see cref="AppLogins.CreateAsync"/>), the Api logs in as the app role alone and the
/// Worker as the app role and the owner role (not a superuser), as the AppHost deploys them; else both log in with
/// <paramref name="connectionString"/>, the superuser, which the test's own queries use either way.
/// </summary>
public sealed class ApiFactory(
    string connectionString,
    IEnumerable<KeyValuePair<string, string?>>? settings = null,
    Action<IServiceCollection>? services = null,
    IReadOnlyList<string>? strategies = null,
    bool startWorker = true,
    (string App, string Owner)? logins = null) : WebApplicationFactory<Program>
{
    public Tokens Tokens { get; } = new();

    /// <summary>The Worker beside this Api, with the same settings; started with the Api unless told otherwise.</summary>
    public WorkerHost Worker { get; } = new(logins?.App ?? connectionString, settings ?? [], logins?.Owner);

    /// <summary>The superuser's login to the test's database, for the test's own queries.</summary>
    public string ConnectionString => connectionString;

    /// <summary>The login the Api's requests run as.</summary>
    public string AppConnectionString => logins?.App ?? connectionString;

    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        builder.UseEnvironment("Testing");

        // UseSetting, not ConfigureAppConfiguration: Program reads some settings while building, before the latter applies.
        KeyValuePair<string, string?>[] pinned =
        [
            new("ConnectionStrings:appdb", AppConnectionString),
            // However busy the machine, the Worker answers within this: a test that expects 202 sets a short wait itself.
            new("Tenancy:RequestWait", Eventually.Ceiling.ToString("c", System.Globalization.CultureInfo.InvariantCulture)),
            // Tests that send many requests of one tenant at once wait for its connections however busy the machine;
            // the limits themselves are the default plan's (TenantPlanTests sets short waits of its own).
            new("Tenancy:Plans:standard:ConnectionWait", "00:01:00"),
            .. (strategies ?? StrategyOrders.ClaimFirst).Select((s, i) => new KeyValuePair<string, string?>($"Tenancy:Resolution:Strategies:{i}", s)),
        ];
        foreach ((string key, string? value) in (KeyValuePair<string, string?>[])[.. pinned, .. Tokens.Configuration, .. settings ?? []])
        {
            builder.UseSetting(key, value);
        }

        if (services is not null)
        {
            builder.ConfigureTestServices(services);
        }
    }

    public override async ValueTask DisposeAsync()
    {
        await base.DisposeAsync();
        await Worker.DisposeAsync();
    }

    protected override IHost CreateHost(IHostBuilder builder)
    {
        if (startWorker)
        {
            Worker.Start();
        }

        return base.CreateHost(builder);
    }

    /// <summary>A client whose requests carry <paramref name="token"/> (none when null); over loopback once on Kestrel.</summary>
    public HttpClient Client(string? token)
    {
        HttpClient client = CreateClient(new WebApplicationFactoryClientOptions { AllowAutoRedirect = false, BaseAddress = ClientOptions.BaseAddress });
        if (token is not null)
        {
            client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        }

        return client;
    }

    /// <summary>Provisions tenants through the Api itself, as an operator would; each must come back ready.</summary>
    public async Task ProvisionAsync(params string[] tenants)
    {
        using HttpClient admin = Client(Tokens.Admin());
        foreach (string tenant in tenants)
        {
            using HttpResponseMessage response = await admin.PostAsJsonAsync("/tenants", new CreateTenantRequest(tenant, $"{tenant} Inc."));
            string body = await response.Content.ReadAsStringAsync();
            if (!response.IsSuccessStatusCode || JsonSerializer.Deserialize<TenantResponse>(body, JsonSerializerOptions.Web)?.State != "ready")
            {
                throw new InvalidOperationException($"Provisioning {tenant}: {(int)response.StatusCode} {body}");
            }
        }
    }

#if (includeSample)
    /// <summary>Counts a tenant's articles straight from its schema (qualified, no routing involved).</summary>
    public async Task<long> CountArticlesAsync(string tenant, string? titlePrefix = null)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(
            $"SELECT count(*) FROM {PgIdentifier.Quote(tenant)}.articles WHERE $1::text IS NULL OR \"Title\" LIKE $1 || '%'", connection);
        command.Parameters.Add(new NpgsqlParameter { Value = (object?)titlePrefix ?? DBNull.Value });
        return (long)(await command.ExecuteScalarAsync())!;
    }
#endif

    /// <summary>The schema names that exist in the database.</summary>
    public async Task<HashSet<string>> SchemasAsync()
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand("SELECT nspname FROM pg_namespace", connection);
        await using NpgsqlDataReader reader = await command.ExecuteReaderAsync();
        var names = new HashSet<string>(StringComparer.Ordinal);
        while (await reader.ReadAsync())
        {
            names.Add(reader.GetString(0));
        }

        return names;
    }

    public T Service<T>()
        where T : notnull => Services.GetRequiredService<T>();
}
