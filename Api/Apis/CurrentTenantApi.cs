using Microsoft.AspNetCore.Http.HttpResults;
using Npgsql;
using Saas.Api.Model;
using Saas.Api.Tenancy;
using Tenants.Shared;
using Tenants.Shared.Catalog;

namespace Saas.Api.Apis;

/// <summary>
/// "Which tenant am I in?": the resolved tenant and what its database session looks like. Useful to check a client's
/// resolution setup, and present whatever the domain, so that every generated app has a tenant-scoped endpoint.
/// </summary>
public static class CurrentTenantApi
{
    public static IEndpointRouteBuilder MapCurrentTenantApi(this IEndpointRouteBuilder app)
    {
        // By claim, host or header (/tenant) and by route (/t/{tenant}/tenant).
        foreach (string path in (string[])["/tenant", "/t/{tenant}/tenant"])
        {
            app.MapGet(path, GetAsync).RequireTenant().WithTags("Tenant");
        }

        return app;
    }

    public static async Task<Ok<CurrentTenantResponse>> GetAsync(TenantDataSource dataSource, ITenantCatalog catalog, CancellationToken cancellationToken)
    {
        // The middleware resolved and entered the tenant; a routed connection shows the session it gets.
        string tenant = TenantContext.CurrentTenant!;
        TenantRecord record = (await catalog.FindAsync(tenant, cancellationToken))!;
        await using NpgsqlConnection connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var session = new NpgsqlCommand("SELECT current_schema(), current_user", connection);
        await using NpgsqlDataReader reader = await session.ExecuteReaderAsync(cancellationToken);
        await reader.ReadAsync(cancellationToken);
        return TypedResults.Ok(new CurrentTenantResponse(record.Name, record.DisplayName, reader.GetString(0), reader.GetString(1)));
    }
}
