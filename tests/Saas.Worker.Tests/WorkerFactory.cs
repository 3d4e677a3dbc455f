using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;
using Postgres.Testing;
using Tenants.Shared;

namespace Saas.Worker.Tests;

/// <summary>
/// The real Worker host (hosted services, health endpoints) over a database of its own. Given <paramref name="logins"/>
/// (<see cref="AppLogins.CreateAsync"/>), it logs in as the app's role and as an owner that is not a superuser, as the
/// AppHost deploys it; else as <paramref name="connectionString"/> alone.
/// </summary>
public sealed class WorkerFactory(string connectionString, IEnumerable<KeyValuePair<string, string?>>? settings = null, (string App, string Owner)? logins = null)
    : WebApplicationFactory<Program>
{
    /// <summary>The test cluster's superuser, for the test's own queries.</summary>
    public string ConnectionString => connectionString;

    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        builder.UseEnvironment("Testing");
        KeyValuePair<string, string?>[] connections = logins is { } split
            ? [new("ConnectionStrings:appdb", split.App), new($"ConnectionStrings:{Saas.Data.AppDataExtensions.OwnerConnectionName}", split.Owner)]
            : [new("ConnectionStrings:appdb", connectionString)];
        foreach ((string key, string? value) in (KeyValuePair<string, string?>[])[.. connections, .. settings ?? []])
        {
            builder.UseSetting(key, value);
        }
    }

    public T Service<T>()
        where T : notnull => Services.GetRequiredService<T>();

#if (includeSample && includeJob)
    /// <summary>Inserts articles straight into a tenant's schema (qualified, no routing involved).</summary>
    public async Task InsertArticlesAsync(string tenant, int count)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        for (int i = 0; i < count; i++)
        {
            await using var command = new NpgsqlCommand($"INSERT INTO {PgIdentifier.Quote(tenant)}.articles (\"Title\", \"Body\") VALUES ($1, '')", connection);
            command.Parameters.Add(new NpgsqlParameter { Value = $"{tenant} {i}" });
            await command.ExecuteNonQueryAsync();
        }
    }
#endif
}
