using System.Security.Claims;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Options;
using Saas.Api.Model;
using Saas.Api.Tenancy;
using Tenants.Shared;
using Tenants.Shared.Capacity;
using Tenants.Shared.Catalog;
using Tenants.Shared.Offboarding;

namespace Saas.Api.Apis;

/// <summary>
/// Provisioning and offboarding, for operators (admin role): create a tenant and get it migrated, see its state, list;
/// deactivate (data kept), reactivate, and delete (schema archived by default, or dropped; name kept unless released).
/// </summary>
public static class TenantsApi
{
    public const int DisplayNameMaxLength = 200;

    public static IEndpointRouteBuilder MapTenantsApi(this IEndpointRouteBuilder app)
    {
        RouteGroupBuilder group = app.MapGroup("/tenants").RequireAuthorization(TenantEndpointConventions.AdminPolicy).WithTags("Tenants");
        group.MapPost("/", CreateAsync);
        group.MapGet("/{name}", GetAsync);
        group.MapGet("/", ListAsync);
        group.MapPost("/{name}/deactivate", DeactivateAsync);
        group.MapPost("/{name}/reactivate", ReactivateAsync);
        group.MapDelete("/{name}", DeleteAsync);
        group.MapPut("/{name}/plan", SetPlanAsync);
        return app;
    }

    /// <summary>
    /// Registers the tenant; the Worker hears of it and migrates its schema. 201 once it is ready within
    /// <see cref="TenancyOptions.RequestWait"/>, 200 when the same tenant existed and is ready, else 202 with its state
    /// (pending, or failed with the error) and its location; 409 when a tenant of that name exists with other details, or
    /// a deleted one's name was not released.
    /// </summary>
    public static async Task<Results<Created<TenantResponse>, Ok<TenantResponse>, Accepted<TenantResponse>, ValidationProblem, Conflict<TenantResponse>, ProblemHttpResult>> CreateAsync(
        CreateTenantRequest request,
        ITenantCatalog catalog,
        TenantChanges changes,
        IOptions<TenancyOptions> options,
        CancellationToken cancellationToken)
    {
        var errors = new Dictionary<string, string[]>();
        if (TenantNames.Problem(request.Name, options.Value.SharedSchema) is { } nameProblem)
        {
            errors["name"] = [nameProblem];
        }

        string displayName = request.DisplayName?.Trim() ?? string.Empty;
        if (displayName.Length == 0 || displayName.Length > DisplayNameMaxLength || displayName.Any(char.IsControl))
        {
            errors["displayName"] = [$"A display name is 1 to {DisplayNameMaxLength} characters, without control characters."];
        }

        if (errors.Count > 0)
        {
            return TypedResults.ValidationProblem(errors);
        }

        (RegistrationOutcome outcome, TenantRecord record) = await catalog.CreateAsync(request.Name!, displayName, cancellationToken);
        if (outcome == RegistrationOutcome.Conflict)
        {
            return TypedResults.Conflict(TenantResponse.From(record));
        }

        if (outcome == RegistrationOutcome.Retired)
        {
            return TenantProblems.NameRetired(record.Name);
        }

        await changes.WaitUntilAsync(
            async ct => (record = await catalog.FindAsync(record.Name, ct) ?? record).State != MigrationState.Pending,
            options.Value.RequestWait,
            cancellationToken);
        TenantResponse response = TenantResponse.From(record);
        string location = $"/tenants/{record.Name}";
        return (record.State, outcome) switch
        {
            (MigrationState.Ready, RegistrationOutcome.Created) => TypedResults.Created(location, response),
            (MigrationState.Ready, _) => TypedResults.Ok(response),
            _ => TypedResults.Accepted(location, response),
        };
    }

    public static async Task<Results<Ok<TenantResponse>, NotFound, ValidationProblem>> GetAsync(
        string name, ITenantCatalog catalog, IOptions<TenancyOptions> options, CancellationToken cancellationToken)
    {
        if (NameProblem(name, options) is { } problem)
        {
            return problem;
        }

        return await catalog.FindAsync(name, cancellationToken) is { } record
            ? TypedResults.Ok(TenantResponse.From(record))
            : TypedResults.NotFound();
    }

    public static async Task<Ok<List<TenantResponse>>> ListAsync(ITenantCatalog catalog, CancellationToken cancellationToken) =>
        TypedResults.Ok((await catalog.ListAsync(cancellationToken)).Select(TenantResponse.From).ToList());

    /// <summary>Stops serving the tenant, its data kept (recorded for the Worker, which every Api instance hears).</summary>
    public static Task<Results<Ok<TenantResponse>, Accepted<TenantRequestResponse>, NotFound, ValidationProblem, ProblemHttpResult>> DeactivateAsync(
        string name, ClaimsPrincipal user, TenantRequests requests, ITenantCatalog catalog, TenantChanges changes, ITenantStore store, IOptions<TenancyOptions> options, CancellationToken cancellationToken) =>
        ChangeStatusAsync(name, TenantRequestAction.Deactivate, user, requests, catalog, changes, store, options, cancellationToken);

    /// <summary>Serves a deactivated tenant again.</summary>
    public static Task<Results<Ok<TenantResponse>, Accepted<TenantRequestResponse>, NotFound, ValidationProblem, ProblemHttpResult>> ReactivateAsync(
        string name, ClaimsPrincipal user, TenantRequests requests, ITenantCatalog catalog, TenantChanges changes, ITenantStore store, IOptions<TenancyOptions> options, CancellationToken cancellationToken) =>
        ChangeStatusAsync(name, TenantRequestAction.Reactivate, user, requests, catalog, changes, store, options, cancellationToken);

    /// <summary>
    /// Deletes a deactivated tenant. <c>schema=archive</c> (the default) keeps its data in an archive schema reachable by
    /// no tenant; <c>schema=drop</c> drops it. The name stays taken unless <c>releaseName=true</c>, which may also be
    /// sent later for a tenant deleted before. The Worker carries it out: 200 when it has within
    /// <see cref="TenancyOptions.RequestWait"/>, else 202 with the request.
    /// </summary>
    public static async Task<Results<Ok<TenantDeletionResponse>, Accepted<TenantRequestResponse>, NotFound, ValidationProblem, ProblemHttpResult>> DeleteAsync(
        string name,
        string? schema,
        bool? releaseName,
        ClaimsPrincipal user,
        TenantRequests requests,
        TenantChanges changes,
        ITenantStore store,
        IOptions<TenancyOptions> options,
        CancellationToken cancellationToken)
    {
        if (NameProblem(name, options) is { } problem)
        {
            return problem;
        }

        SchemaDisposal disposal;
        switch (schema)
        {
            case null or "archive":
                disposal = SchemaDisposal.Archive;
                break;
            case "drop":
                disposal = SchemaDisposal.Drop;
                break;
            default:
                return TypedResults.ValidationProblem(new Dictionary<string, string[]> { ["schema"] = ["Either 'archive' (the default) or 'drop'."] });
        }

        TenantRequest request = await CarryOutAsync(
            name, by => requests.SubmitAsync(name, TenantRequestAction.Delete, disposal, releaseName ?? false, by, cancellationToken), user, requests, changes, store, options, cancellationToken);
        return (request.State, request.Outcome) switch
        {
            (TenantRequestState.Pending, _) => TypedResults.Accepted($"/tenants/{name}", TenantRequestResponse.From(request)),
            (TenantRequestState.Done, string outcome) => TypedResults.Ok(new TenantDeletionResponse(name, request.ArchivedAs, outcome == "released")),
            (TenantRequestState.Refused, TenantRequestOutcomes.StillActive) => TenantProblems.StillActive(name),
            (TenantRequestState.Refused, _) => TypedResults.NotFound(),
            _ => TenantProblems.RequestFailed(name, request.Outcome),
        };
    }

    private static async Task<Results<Ok<TenantResponse>, Accepted<TenantRequestResponse>, NotFound, ValidationProblem, ProblemHttpResult>> ChangeStatusAsync(
        string name,
        TenantRequestAction action,
        ClaimsPrincipal user,
        TenantRequests requests,
        ITenantCatalog catalog,
        TenantChanges changes,
        ITenantStore store,
        IOptions<TenancyOptions> options,
        CancellationToken cancellationToken)
    {
        if (NameProblem(name, options) is { } problem)
        {
            return problem;
        }

        TenantRequest request = await CarryOutAsync(
            name, by => requests.SubmitAsync(name, action, SchemaDisposal.Archive, releaseName: false, by, cancellationToken), user, requests, changes, store, options, cancellationToken);
        return await AnswerAsync(name, request, catalog, cancellationToken);
    }

    /// <summary>
    /// Puts the tenant on another plan (<c>{"plan": null}</c>: the default one); every Api instance applies the plan's
    /// limits to its next request. 400 for a plan this Api's configuration does not name.
    /// </summary>
    public static async Task<Results<Ok<TenantResponse>, Accepted<TenantRequestResponse>, NotFound, ValidationProblem, ProblemHttpResult>> SetPlanAsync(
        string name,
        SetPlanRequest body,
        ClaimsPrincipal user,
        TenantRequests requests,
        TenantPlans plans,
        ITenantCatalog catalog,
        TenantChanges changes,
        ITenantStore store,
        IOptions<TenancyOptions> options,
        CancellationToken cancellationToken)
    {
        if (NameProblem(name, options) is { } problem)
        {
            return problem;
        }

        try
        {
            plans.EnsureKnown(body.Plan);
        }
        catch (ArgumentException e)
        {
            return TenantProblems.UnknownPlan(e.Message);
        }

        TenantRequest request = await CarryOutAsync(
            name, by => requests.SubmitPlanAsync(name, body.Plan, by, cancellationToken), user, requests, changes, store, options, cancellationToken);
        return await AnswerAsync(name, request, catalog, cancellationToken);
    }

    private static async Task<Results<Ok<TenantResponse>, Accepted<TenantRequestResponse>, NotFound, ValidationProblem, ProblemHttpResult>> AnswerAsync(
        string name, TenantRequest request, ITenantCatalog catalog, CancellationToken cancellationToken) =>
        (request.State, request.Outcome) switch
        {
            (TenantRequestState.Pending, _) => TypedResults.Accepted($"/tenants/{name}", TenantRequestResponse.From(request)),
            (TenantRequestState.Done, _) when await catalog.FindAsync(name, cancellationToken) is { } record => TypedResults.Ok(TenantResponse.From(record)),
            (TenantRequestState.Refused, TenantRequestOutcomes.AlreadyDeleted) => TenantProblems.AlreadyDeleted(name),
            (TenantRequestState.Refused or TenantRequestState.Done, _) => TypedResults.NotFound(),
            _ => TenantProblems.RequestFailed(name, request.Outcome),
        };

    /// <summary>Records the request (<paramref name="submit"/>, given the operator's name), then waits a short while for the Worker to carry it out.</summary>
    private static async Task<TenantRequest> CarryOutAsync(
        string name,
        Func<string, Task<TenantRequest>> submit,
        ClaimsPrincipal user,
        TenantRequests requests,
        TenantChanges changes,
        ITenantStore store,
        IOptions<TenancyOptions> options,
        CancellationToken cancellationToken)
    {
        string requestedBy = user.Identity?.Name ?? user.FindFirstValue(ClaimTypes.NameIdentifier) ?? user.FindFirstValue("sub") ?? "(unnamed operator)";
        TenantRequest request = await submit(requestedBy);
        await changes.WaitUntilAsync(
            async ct => (request = await requests.FindAsync(request.Id, ct) ?? request).State != TenantRequestState.Pending,
            options.Value.RequestWait,
            cancellationToken);

        // Every instance hears the change; this one need not wait for its own announcement.
        store.Forget(name);
        return request;
    }

    private static ValidationProblem? NameProblem(string name, IOptions<TenancyOptions> options) =>
        TenantNames.Problem(name, options.Value.SharedSchema) is { } problem
            ? TypedResults.ValidationProblem(new Dictionary<string, string[]> { ["name"] = [problem] })
            : null;
}
