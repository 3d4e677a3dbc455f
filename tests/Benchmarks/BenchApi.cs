using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;
using Saas.Api.Apis;
using Saas.Api.Infrastructure;
using Saas.Api.Tenancy;

namespace Benchmarks;

/// <summary>The real Api, plus a branch per mechanism serving the same handler.</summary>
internal sealed class BenchApi(string database) : WebApplicationFactory<AppDbContext> // any Api type: its assembly's entry point runs
{
    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        builder.UseContentRoot(BenchTenant.ApiDirectory()); // its appsettings.json, as when the Api runs
        builder.UseEnvironment("Production");
        builder.UseSetting("ConnectionStrings:appdb", database);
        builder.UseSetting("Tenancy:Resolution:RequireAuthenticatedMember", "false"); // anonymous, on every side
        builder.UseSetting("Logging:LogLevel:Default", "Warning");
        builder.ConfigureTestServices(services =>
        {
            RoutingMechanisms.Add(services, database, BenchTenant.Name);
            services.AddSingleton<IStartupFilter, MechanismBranches>();
        });
    }
}

/// <summary>/off/articles without resolution; /m/{mechanism}/t/{tenant}/articles with it, as the Api resolves.</summary>
internal sealed class MechanismBranches : IStartupFilter
{
    public Action<IApplicationBuilder> Configure(Action<IApplicationBuilder> next) => app =>
    {
        app.Map("/off", off =>
        {
            off.UseRouting();
            off.UseAuthentication();
            off.UseAuthorization();
            off.UseEndpoints(e => e.MapGet("/articles", List(RoutingMechanisms.Off)));
        });
        foreach (string mechanism in (string[])[RoutingMechanisms.Off, RoutingMechanisms.SharedPoolOnly, RoutingMechanisms.BatchedWithoutRole, RoutingMechanisms.SetOnOpen, RoutingMechanisms.PerTenantSource])
        {
            app.Map($"/m/{mechanism}", branch =>
            {
                branch.UseRouting();
                branch.UseAuthentication();
                branch.UseAuthorization();
                branch.UseMiddleware<TenantResolutionMiddleware>();
                branch.UseEndpoints(e => e.MapGet("/t/{tenant}/articles", List(mechanism)).RequireTenant());
            });
        }

        next(app);
    };

    private static Delegate List(string mechanism) => (HttpContext http, CancellationToken ct, int page = 1, int pageSize = 20) =>
        ArticlesApi.ListAsync(http.RequestServices.GetRequiredKeyedService<AppDbContext>(mechanism), ct, page, pageSize);
}
