using Microsoft.AspNetCore.Authentication.JwtBearer;
using Microsoft.AspNetCore.RateLimiting;
using Microsoft.Extensions.Options;
using Microsoft.IdentityModel.Tokens;
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
        builder.AddTenantRateLimits();
        builder.AddAuth();
        builder.Services.AddProblemDetails();
        builder.Services.AddExceptionHandler<DatabaseUnavailableHandler>();
        builder.Services.AddExceptionHandler<SchemaTakenHandler>();
        builder.Services.AddExceptionHandler<TenantCapacityHandler>();
        builder.Services.AddOpenApi();
    }

    private static void AddTenantResolution(this IHostApplicationBuilder builder)
    {
        builder.Services.AddOptions<TenantResolutionOptions>()
            .BindConfiguration(TenantResolutionOptions.SectionName)
            .PostConfigure(o => o.Strategies = o.Strategies.Count > 0 ? o.Strategies : [.. TenantResolutionOptions.DefaultStrategies])
            .ValidateOnStart();
        builder.Services.AddSingleton<IValidateOptions<TenantResolutionOptions>, TenantResolutionOptionsValidator>();
        builder.Services.AddSingleton<ITenantResolutionStrategy, ClaimStrategy>();
        builder.Services.AddSingleton<ITenantResolutionStrategy, RouteStrategy>();
        builder.Services.AddSingleton<ITenantResolutionStrategy, HostStrategy>();
        builder.Services.AddSingleton<ITenantResolutionStrategy, HeaderStrategy>();
        builder.Services.AddSingleton<TenantStrategies>();
        builder.Services.AddSingleton<ITenantStore, CatalogTenantStore>();
    }

    private static void AddTenantRateLimits(this IHostApplicationBuilder builder)
    {
        builder.Services.AddSingleton<TenantRateLimits>();
        builder.Services.AddRateLimiter();
        builder.Services.AddOptions<RateLimiterOptions>().Configure<TenantRateLimits>((options, limits) =>
        {
            options.GlobalLimiter = limits.Limiter;
            options.RejectionStatusCode = StatusCodes.Status429TooManyRequests;
            options.OnRejected = limits.RejectAsync;
        });
    }

    private static void AddTenancyTelemetry(this IHostApplicationBuilder builder) =>
        builder.Services.AddOpenTelemetry()
            .WithTracing(tracing => tracing.AddTenancyInstrumentation())
            .WithMetrics(metrics => metrics.AddTenancyInstrumentation());

    private static void AddAuth(this IHostApplicationBuilder builder)
    {
        // JWT bearer, configured from Authentication:Schemes:Bearer: what `dotnet user-jwts` writes for development.
        builder.Services.AddAuthentication(JwtBearerDefaults.AuthenticationScheme).AddJwtBearer();
        if (builder.Environment.IsDevelopment())
        {
            builder.AddUserJwtsSigningKeys();
        }

        builder.Services.AddAuthorizationBuilder()
            .AddPolicy(TenantEndpointConventions.AdminPolicy, p => p.RequireRole(TenantEndpointConventions.AdminRole))
            // Which tenants the caller may reach is checked against the resolved tenant by TenantResolutionMiddleware.
            .AddPolicy(TenantEndpointConventions.MemberPolicy, p => p.RequireAuthenticatedUser());
    }

    /// <summary>
    /// `dotnet user-jwts` creates its signing key in user secrets on first use, often after the Api started, when the
    /// configuration the Api started with cannot see a user-secrets folder created later. Until the Api knows a key,
    /// each token makes it read its user secrets again, so a fresh machine's first tokens are not refused.
    /// </summary>
    private static void AddUserJwtsSigningKeys(this IHostApplicationBuilder builder) =>
        builder.Services.AddOptions<JwtBearerOptions>(JwtBearerDefaults.AuthenticationScheme).PostConfigure(options =>
        {
            TokenValidationParameters parameters = options.TokenValidationParameters;
            if (parameters.IssuerSigningKey is null && parameters.IssuerSigningKeys?.Any() != true)
            {
                SecurityKey[] found = [];
                parameters.IssuerSigningKeyResolver = (_, _, _, _) => found = found.Length > 0 ? found : UserJwtsKeys(parameters.ValidIssuer);
            }
        });

    /// <summary>The signing keys of <paramref name="issuer"/> in this app's user secrets, where `dotnet user-jwts` writes them.</summary>
    private static SecurityKey[] UserJwtsKeys(string? issuer) =>
        [
            .. new ConfigurationBuilder().AddUserSecrets(typeof(Extensions).Assembly, optional: true).Build()
                .GetSection("Authentication:Schemes:Bearer:SigningKeys").GetChildren()
                .Where(key => key["Issuer"] == issuer && key["Value"] is not null)
                .Select(key => new SymmetricSecurityKey(Convert.FromBase64String(key["Value"]!))),
        ];
}
