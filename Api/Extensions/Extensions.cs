using Microsoft.AspNetCore.Authentication.JwtBearer;
using Saas.Api.Infrastructure;
using Saas.Api.Tenancy;
using Tenants.Shared;

namespace Saas.Api.Extensions;

internal static class Extensions
{
    /// <summary>The database connection string's name, as the AppHost publishes it.</summary>
    public const string DatabaseName = "appdb";

    public static void AddApplicationServices(this IHostApplicationBuilder builder)
    {
        string connectionString = builder.Configuration.GetConnectionString(DatabaseName)
            ?? throw new InvalidOperationException($"ConnectionStrings:{DatabaseName} is not set. Run the app through the AppHost, or set it.");
        builder.Services.AddTenancy(connectionString, o => builder.Configuration.GetSection(TenancyOptions.SectionName).Bind(o));
        builder.Services.AddTenantDbContext<AppDbContext>();
        builder.Services.AddSingleton(TimeProvider.System);

        builder.AddTenantResolution();
        builder.AddAuth();
        builder.Services.AddProblemDetails();
        builder.Services.AddOpenApi();
    }

    private static void AddTenantResolution(this IHostApplicationBuilder builder)
    {
        builder.Services.AddOptions<TenantResolutionOptions>().BindConfiguration(TenantResolutionOptions.SectionName);
        builder.Services.AddSingleton<ITenantResolutionStrategy, ClaimStrategy>();
        builder.Services.AddSingleton<ITenantResolutionStrategy, RouteStrategy>();
        builder.Services.AddSingleton<ITenantResolutionStrategy, HostStrategy>();
        builder.Services.AddSingleton<ITenantResolutionStrategy, HeaderStrategy>();
        builder.Services.AddSingleton<TenantStrategies>();
        builder.Services.AddSingleton<ITenantStore, CatalogTenantStore>();
    }

    private static void AddAuth(this IHostApplicationBuilder builder)
    {
        // JWT bearer, configured from Authentication:Schemes:Bearer: what `dotnet user-jwts` writes for development.
        builder.Services.AddAuthentication(JwtBearerDefaults.AuthenticationScheme).AddJwtBearer();

        bool requireMember = builder.Configuration.GetValue($"{TenantResolutionOptions.SectionName}:RequireAuthenticatedMember", defaultValue: true);
        builder.Services.AddAuthorizationBuilder()
            .AddPolicy(TenantEndpointConventions.AdminPolicy, p => p.RequireRole(TenantEndpointConventions.AdminRole))
            .AddPolicy(TenantEndpointConventions.MemberPolicy, p =>
            {
                // Who may reach which tenant is checked against the resolved tenant by TenantResolutionMiddleware.
                if (requireMember)
                {
                    p.RequireAuthenticatedUser();
                }
                else
                {
                    p.RequireAssertion(_ => true);
                }
            });
    }
}
