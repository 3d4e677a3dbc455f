using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;
using Saas.Api.Apis;
using Saas.Api.Model;
using Saas.Data;
using Saas.Api.Tenancy;
using Tenants.Shared;
using Tenants.Shared.Catalog;

namespace Benchmarks;

/// <summary>The real Api, plus a branch per mechanism serving the same handler.</summary>
internal sealed class BenchApi(string database) : WebApplicationFactory<TenantResolutionMiddleware> // any Api type: its assembly's entry point runs
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

/// <summary>/off/t/{tenant}/articles (and its variants) and /ping without resolution; /m/{mechanism}/t/{tenant}/articles, /articles-pooled (off's pooled contexts) and /ping with it, as the Api resolves; /entered/t/{tenant}/articles in the tenant's scope without resolution; /usage, what the process has spent.</summary>
internal sealed class MechanismBranches : IStartupFilter
{
    public Action<IApplicationBuilder> Configure(Action<IApplicationBuilder> next) => app =>
    {
        app.Map("/off", off =>
        {
            off.UseRouting();
            off.UseAuthentication();
            off.UseAuthorization();
            off.UseEndpoints(e =>
            {
                // The same route shape as the tenant branches ({tenant} bound, then ignored): only tenancy differs.
                e.MapGet("/t/{tenant}/articles", List(RoutingMechanisms.Off));
                e.MapGet("/t/{tenant}/articles-as-tenant-role", List(RoutingMechanisms.OffAsTenantRole));
                e.MapGet("/t/{tenant}/articles-options-per-context", List(RoutingMechanisms.OffOptionsPerContext));
                e.MapGet("/t/{tenant}/articles-pooled", List(RoutingMechanisms.OffPooled));
                e.MapGet("/t/{tenant}/articles-pooled-in-scope", InScope);
                e.MapGet("/t/{tenant}/articles-pooled-with-async-local", WithAsyncLocal);
                e.MapGet("/t/{tenant}/ping", Ping);
            });
        });
        foreach (string mechanism in (string[])[RoutingMechanisms.Off, RoutingMechanisms.Shipped, RoutingMechanisms.SharedPoolOnly, RoutingMechanisms.SharedPoolPerQuery, RoutingMechanisms.BatchedWithoutRole, RoutingMechanisms.SetOnOpen, RoutingMechanisms.PerTenantSource])
        {
            app.Map($"/m/{mechanism}", branch =>
            {
                branch.UseRouting();
                branch.UseAuthentication();
                branch.UseAuthorization();
                branch.UseMiddleware<TenantResolutionMiddleware>();
                branch.UseEndpoints(e =>
                {
                    e.MapGet("/t/{tenant}/articles", List(mechanism)).RequireTenant();
                    e.MapGet("/t/{tenant}/articles-pooled", List(RoutingMechanisms.OffPooled)).RequireTenant();
                    e.MapGet("/t/{tenant}/ping", Ping).RequireTenant();
                });
            });
        }

        // The shipped context behind a middleware that only enters the tenant's scope: resolution's share, apart.
        app.Map("/entered", branch =>
        {
            branch.UseRouting();
            branch.UseAuthentication();
            branch.UseAuthorization();
            branch.UseMiddleware<EnterBenchTenant>();
            branch.UseEndpoints(e => e.MapGet("/t/{tenant}/articles", List(RoutingMechanisms.Shipped)));
        });

        // What this process has spent, for a parent that runs it as a side server.
        app.Map("/usage", usage => usage.Run(context => context.Response.WriteAsync(SideServer.UsageLine())));

        next(app);
    };

    // An AsyncLocal value that nothing reads: the execution context of a tenant scope, without the tenant.
    private static readonly AsyncLocal<object?> Unread = new();

    // Off's pooled list inside the tenant's scope, entered as the resolution middleware enters it, without resolution.
    private static async Task<Results<Ok<PagedResult<ArticleResponse>>, ValidationProblem>> InScope(
        HttpContext http, TenantContext tenants, string tenant, CancellationToken ct, int page = 1, int pageSize = 20)
    {
        await using TenantScope scope = await tenants.EnterAsync(tenant, ct);
        return await ArticlesApi.ListAsync(OffPooled(http), ct, page, pageSize);
    }

    // Off's pooled list with an AsyncLocal value set that nothing reads. Not async, as List's handler is not: the value
    // stays set on the request's flow, as the resolution middleware's scope does, and no frame is added.
    private static Task<Results<Ok<PagedResult<ArticleResponse>>, ValidationProblem>> WithAsyncLocal(
        HttpContext http, CancellationToken ct, int page = 1, int pageSize = 20)
    {
        Unread.Value = http;
        return ArticlesApi.ListAsync(OffPooled(http), ct, page, pageSize);
    }

    private static AppDbContext OffPooled(HttpContext http) => http.RequestServices.GetRequiredKeyedService<AppDbContext>(RoutingMechanisms.OffPooled);

    // No database at all: what is left is the HTTP pipeline, and on a tenant branch, resolution and the scope.
    private static string Ping() => TenantContext.CurrentTenant ?? "off";

    private static Delegate List(string mechanism) => (HttpContext http, CancellationToken ct, int page = 1, int pageSize = 20) =>
        ArticlesApi.ListAsync(
            mechanism == RoutingMechanisms.Shipped
                ? http.RequestServices.GetRequiredService<AppDbContext>()
                : http.RequestServices.GetRequiredKeyedService<AppDbContext>(mechanism),
            ct,
            page,
            pageSize);
}

/// <summary>
/// Enters the benchmark tenant's scope from its catalog record, read once, as the resolution middleware enters it: no
/// strategies, checks or store look-up per request, no feature, span tag or response-start release.
/// </summary>
internal sealed class EnterBenchTenant(RequestDelegate next, TenantContext tenants, ITenantStore store)
{
    private TenantRecord? _record;

    public async Task InvokeAsync(HttpContext context)
    {
        TenantRecord record = _record ??= await store.FindAsync(BenchTenant.Name, context.RequestAborted)
            ?? throw new InvalidOperationException($"Tenant {BenchTenant.Name} is not seeded.");
        using TenantScope scope = tenants.Enter(record);
        await next(context);
    }
}
