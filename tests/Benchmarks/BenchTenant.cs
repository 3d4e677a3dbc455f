using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;
using Saas.Data;
using Tenants.Shared;
using Tenants.Shared.Catalog;
using Tenants.Shared.Migrations;

namespace Benchmarks;

/// <summary>The one tenant the routing benchmarks read: provisioned as the Api does, then 50 articles.</summary>
internal static class BenchTenant
{
    public const string Name = "bench";

    public static async Task SeedAsync(IServiceProvider services, string database)
    {
        await services.GetRequiredService<ITenantCatalog>().CreateAsync(Name, "Bench");
        await services.GetRequiredService<TenantMigrator<AppDbContext>>().MigrateAsync(Name);
        await using var connection = new NpgsqlConnection(database);
        await connection.OpenAsync();
        await using var seed = new NpgsqlCommand(
            $"INSERT INTO {Name}.articles (\"Title\", \"Body\") SELECT 'article ' || i, repeat('x', 200) FROM generate_series(1, 50) i", connection);
        await seed.ExecuteNonQueryAsync();
    }

    /// <summary>Which tenants held a dedicated pool when the run ended: the shipped side's figures are for that pool.</summary>
    public static void PrintDedicatedPools(IServiceProvider services)
    {
        IReadOnlyCollection<string> hot = services.GetRequiredService<TenantDataSource>().Dedicated.Tenants;
        Console.WriteLine($"dedicated pools at the end: [{string.Join(", ", hot)}]");
    }

    /// <summary>The standard plan with no practical limits: a side that measures something else than fairness.</summary>
    public static void LiftPlanLimits(IWebHostBuilder builder)
    {
        builder.UseSetting("Tenancy:Plans:standard:RequestsPerSecond", "1000000");
        builder.UseSetting("Tenancy:Plans:standard:Burst", "1000000");
        builder.UseSetting("Tenancy:Plans:standard:ConcurrentRequests", "100000");
        builder.UseSetting("Tenancy:Plans:standard:ConcurrentConnections", "100000");
    }

    /// <summary>The Api's folder, for its appsettings.json.</summary>
    public static string ApiDirectory() => ProjectDirectory("Api");

    /// <summary>The folder of the solution's project <paramref name="name"/> (Api, Worker), for its appsettings.json.</summary>
    public static string ProjectDirectory(string name)
    {
        for (DirectoryInfo? d = new(AppContext.BaseDirectory); d is not null; d = d.Parent)
        {
            if (File.Exists(Path.Combine(d.FullName, name, "appsettings.json")))
            {
                return Path.Combine(d.FullName, name);
            }
        }

        throw new InvalidOperationException($"{name}/appsettings.json is not above the benchmark's directory.");
    }
}
