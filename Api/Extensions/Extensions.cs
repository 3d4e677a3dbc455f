using Microsoft.AspNetCore.Authentication.JwtBearer;
using Microsoft.Extensions.Options;
using OpenTelemetry.Metrics;
using OpenTelemetry.Trace;
using Saas.Api.Infrastructure;
using Saas.Api.Tenancy;
using Saas.Data;
using Tenants.Shared;

namespace Saas.Api.Extensions;

internal static class Extensions
{
    public static void AddApplicationServices(this IHostApplicationBuilder builder)
    {
        builder.AddAppData();
        builder.AddTenancyTelemetry();
        builder.Services.AddSingleton(TimeProvider.System);

        builder.AddTenantResolution();
        builder.AddAuth();
        builder.Services.AddProblemDetails();
        builder.Services.AddExceptionHandler<DatabaseUnavailableHandler>();
        builder.Services.AddOpenApi();
    }

    private static void AddTenantResolution(this IHostApplicationBuilder builder)
    {
        builder.Services.AddOptions<TenantResolutionOptions>().BindConfiguration(TenantResolutionOptions.SectionName).ValidateOnStart();
        builder.Services.AddSingleton<IValidateOptions<TenantResolutionOptions>, TenantResolutionOptionsValidator>();
        builder.Services.AddSingleton<ITenantResolutionStrategy, ClaimStrategy>();
        builder.Services.AddSingleton<ITenantResolutionStrategy, RouteStrategy>();
        builder.Services.AddSingleton<ITenantResolutionStrategy, HostStrategy>();
        builder.Services.AddSingleton<ITenantResolutionStrategy, HeaderStrategy>();
        builder.Services.AddSingleton<TenantStrategies>();
        builder.Services.AddSingleton<ITenantStore, CatalogTenantStore>();
    }

    private static void AddTenancyTelemetry(this IHostApplicationBuilder builder) =>
        builder.Services.AddOpenTelemetry()
            .WithTracing(tracing => tracing.AddTenancyInstrumentation())
            .WithMetrics(metrics => metrics.AddTenancyInstrumentation());

    private static void AddAuth(this IHostApplicationBuilder builder)
    {
        // JWT bearer, configured from Authentication:Schemes:Bearer: what `dotnet user-jwts` writes for development.
        builder.Services.AddAuthentication(JwtBearerDefaults.AuthenticationScheme).AddJwtBearer();

        builder.Services.AddAuthorizationBuilder()
            .AddPolicy(TenantEndpointConventions.AdminPolicy, p => p.RequireRole(TenantEndpointConventions.AdminRole))
            // Which tenants the caller may reach is checked against the resolved tenant by TenantResolutionMiddleware.
            .AddPolicy(TenantEndpointConventions.MemberPolicy, p => p.RequireAuthenticatedUser());
    }
}
