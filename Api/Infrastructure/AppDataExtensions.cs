using Tenants.Shared;

namespace Saas.Api.Infrastructure;

/// <summary>The app's data wiring, shared by the Api and the Worker (which applies this project's migrations).</summary>
public static class AppDataExtensions
{
    /// <summary>The database connection string's name, as the AppHost publishes it.</summary>
    public const string DatabaseName = "appdb";

    /// <summary>Tenancy (bound from the Tenancy section) over <c>ConnectionStrings:appdb</c>, and the app's DbContext.</summary>
    public static void AddAppData(this IHostApplicationBuilder builder)
    {
        string connectionString = builder.Configuration.GetConnectionString(DatabaseName)
            ?? throw new InvalidOperationException($"ConnectionStrings:{DatabaseName} is not set. Run the app through the AppHost, or set it.");
        builder.Services.AddTenancy(connectionString, o => builder.Configuration.GetSection(TenancyOptions.SectionName).Bind(o));
        builder.Services.AddTenantDbContext<AppDbContext>();
    }
}
