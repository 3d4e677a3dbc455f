using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Hosting;
using Tenants.Shared;

namespace Saas.Data;

/// <summary>The app's data wiring, the same in the Api and the Worker (which applies this project's migrations).</summary>
public static class AppDataExtensions
{
    /// <summary>The app's connection string name (a least-privileged role), as the AppHost publishes it.</summary>
    public const string DatabaseName = "appdb";

    /// <summary>The schema owner's connection string name: provisioning and migrations only.</summary>
    public const string OwnerConnectionName = "appdb-owner";

    /// <summary>
    /// Tenancy (bound from the Tenancy section) over <c>ConnectionStrings:appdb</c>, with <c>ConnectionStrings:appdb-owner</c>
    /// for provisioning and migrations when set (else the app's role owns the schemas itself), and the app's DbContext,
    /// enriched by Aspire's PostgreSQL client integration: its health check, retries, command timeout, tracing and
    /// metrics follow <c>Aspire:Npgsql:EntityFrameworkCore:PostgreSQL</c> (or its <c>AppDbContext</c> subsection).
    /// </summary>
    public static void AddAppData(this IHostApplicationBuilder builder)
    {
        string connectionString = builder.Configuration.GetConnectionString(DatabaseName)
            ?? throw new InvalidOperationException($"ConnectionStrings:{DatabaseName} is not set. Run the app through the AppHost, or set it.");
        builder.Services.AddTenancy(
            connectionString,
            o => builder.Configuration.GetSection(TenancyOptions.SectionName).Bind(o),
            builder.Configuration.GetConnectionString(OwnerConnectionName));
        builder.Services.AddTenantDbContext<AppDbContext>();

        // Enriched, not added: Aspire's AddNpgsqlDbContext would give the context a connection string of its own,
        // around the tenant data source and its routing. AddTenantDbContext pools the contexts itself.
        builder.EnrichNpgsqlDbContext<AppDbContext>();
    }
}
