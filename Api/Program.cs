using Saas.Api.Apis;
using Saas.Api.Extensions;
using Saas.Api.Tenancy;
using Scalar.AspNetCore;

WebApplicationBuilder builder = WebApplication.CreateBuilder(args);
builder.AddServiceDefaults();
builder.AddApplicationServices();

WebApplication app = builder.Build();
app.UseExceptionHandler();
app.UseStatusCodePages();
app.UseAuthentication();
app.UseAuthorization();
app.UseMiddleware<TenantResolutionMiddleware>(); // after authorization: anonymous probes get 401, never tenant facts
app.UseRateLimiter(); // inside the tenant's scope: limits by the resolved tenant's plan

app.MapDefaultEndpoints();
app.MapOpenApi();
if (app.Environment.IsDevelopment())
{
    app.MapScalarApiReference();
}

app.MapCurrentTenantApi();
#if (includeSample)
app.MapArticlesApi();
#endif
app.MapTenantsApi();
app.Run();

/// <summary>The entry point, visible to WebApplicationFactory in the tests.</summary>
public partial class Program;
