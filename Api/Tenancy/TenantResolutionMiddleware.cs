using System.Diagnostics;
using System.Security.Claims;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Options;
using Npgsql;
using Tenants.Shared;
using Tenants.Shared.Capacity;
using Tenants.Shared.Catalog;

namespace Saas.Api.Tenancy;

/// <summary>
/// Strategies → store → TenantContext. On a tenant-scoped endpoint, finds the request's tenant, checks it, and opens
/// its TenantContext for the rest of the request, so endpoints never pass tenant names around. Every refusal is a
/// problem details response; there is never a silent fall-back to shared data.
/// </summary>
public sealed class TenantResolutionMiddleware(
    RequestDelegate next,
    TenantStrategies strategies,
    ITenantStore store,
    TenantContext tenants,
    TenantPlans plans,
    IOptions<TenantResolutionOptions> resolution,
    IOptions<TenancyOptions> tenancy)
{
    public async Task InvokeAsync(HttpContext context)
    {
        if (context.GetEndpoint()?.Metadata.GetMetadata<TenantScopedMetadata>() is null)
        {
            await next(context);
            return;
        }

        (string? tenant, IResult? refusal) = Resolve(context);
        TenantRecord? record = null;
        if (refusal is null)
        {
            record = await store.FindAsync(tenant!, context.RequestAborted);
            refusal = Refusal(tenant!, record);
        }

        if (refusal is not null)
        {
            await refusal.ExecuteAsync(context);
            return;
        }

        context.Features.Set(new ResolvedTenant(record!, plans.NameOf(record!)));

        // The record just checked is the one entered: no second look-up, and no second cache that could disagree. Log
        // lines written from here on carry the tenant (the tenancy's log scope provider reads the scope).
        using TenantScope scope = tenants.Enter(record!);

        // The endpoint's database work is done once its response starts: its contexts' connections go back to the pool
        // then, not after a slow client has read the whole body.
        context.Response.OnStarting(ReleaseConnections, scope);

        // The server span started before the tenant was known; spans started from here on are tagged by the processor.
        Activity.Current?.SetTag(TenantSpanProcessor.TenantAttribute, scope.Schema);
        try
        {
            await next(context);
        }
        catch (Exception e) when (!context.Response.HasStarted && MayBeGone(e))
        {
            // Deleted or deactivated elsewhere while this instance still served it (an announcement not heard yet):
            // answered as resolution would answer now, never as a failure inside.
            store.Forget(tenant!);
            if (Refusal(tenant!, await store.FindAsync(tenant!, CancellationToken.None)) is not { } gone)
            {
                throw;
            }

            await gone.ExecuteAsync(context);
        }
    }

    private static ProblemHttpResult? Refusal(string tenant, TenantRecord? record) => record switch
    {
        null => TenantProblems.NotFound(tenant),
        { Status: TenantStatus.Deactivated } => TenantProblems.Deactivated(tenant),
        { Status: TenantStatus.Deleted } => TenantProblems.Deleted(tenant),
        { State: not MigrationState.Ready } => TenantProblems.NotReady(tenant, record.State.ToString().ToLowerInvariant()),
        _ => null,
    };

    /// <summary>Whether the exception, or one it wraps, is what a tenant's schema or role vanishing mid-request gives.</summary>
    private static bool MayBeGone(Exception exception)
    {
        for (Exception? e = exception; e is not null; e = e.InnerException)
        {
            if (e is PostgresException { SqlState: PostgresErrorCodes.InvalidSchemaName or PostgresErrorCodes.UndefinedTable or PostgresErrorCodes.UndefinedObject or PostgresErrorCodes.InsufficientPrivilege })
            {
                return true;
            }
        }

        return false;
    }

    private static Task ReleaseConnections(object scope)
    {
        ((TenantScope)scope).ReleaseConnections();
        return Task.CompletedTask;
    }

    private (string? Tenant, IResult? Refusal) Resolve(HttpContext context)
    {
        List<string> named = strategies.Resolve(context);
        foreach (string name in named)
        {
            if (TenantNames.Problem(name, tenancy.Value.SharedSchema) is { } problem)
            {
                return (null, TenantProblems.Invalid(problem));
            }
        }

        // A caller bound to tenants by its claims can never reach another one, whatever the route, host or header say,
        // and whichever strategy comes first. Among the rest, the configured order decides: the first name wins.
        ClaimsPrincipal user = context.User;
        string claimType = resolution.Value.ClaimType;
        bool bound = user.FindFirst(claimType) is not null;
        foreach (string name in named)
        {
            if (bound && !user.HasClaim(claimType, name))
            {
                return (null, TenantProblems.Forbidden());
            }
        }

        if (named.Count == 0)
        {
            return (null, TenantProblems.Required(resolution.Value.Strategies));
        }

        // An authenticated caller with no tenant claim reaches tenants only as an operator.
        if (!bound && user.Identity?.IsAuthenticated == true && resolution.Value.RequireAuthenticatedMember &&
            !user.IsInRole(TenantEndpointConventions.AdminRole))
        {
            return (null, TenantProblems.Forbidden());
        }

        return (named[0], null);
    }
}
