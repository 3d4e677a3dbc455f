using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Options;
using Saas.Api.Model;
using Saas.Api.Tenancy;
using Saas.Data;
using Tenants.Shared;
using Tenants.Shared.Catalog;
using Tenants.Shared.Migrations;
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
        return app;
    }

    /// <summary>
    /// Registers the tenant and migrates its schema before answering: 201 when it is ready to use, 200 when the same
    /// tenant existed (and is now ready), 202 with its state and error when it is registered but not ready, 409 when
    /// a tenant of that name exists with other details, or a deleted one's name was not released.
    /// </summary>
    public static async Task<Results<Created<TenantResponse>, Ok<TenantResponse>, Accepted<TenantResponse>, ValidationProblem, Conflict<TenantResponse>, ProblemHttpResult>> CreateAsync(
        CreateTenantRequest request,
        ITenantCatalog catalog,
        TenantMigrator<AppDbContext> migrator,
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

        if (record.State != TenantState.Ready)
        {
            try
            {
                await migrator.MigrateAsync(record.Name, cancellationToken);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                // Recorded in the catalog by the migrator; the response below reports it.
            }

            record = await catalog.FindAsync(record.Name, cancellationToken) ?? record;
        }

        TenantResponse response = TenantResponse.From(record);
        string location = $"/tenants/{record.Name}";
        return (record.State, outcome) switch
        {
            (TenantState.Ready, RegistrationOutcome.Created) => TypedResults.Created(location, response),
            (TenantState.Ready, _) => TypedResults.Ok(response),
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

    public static Task<Results<Ok<TenantResponse>, NotFound, ValidationProblem, ProblemHttpResult>> DeactivateAsync(
        string name, TenantOffboarding offboarding, ITenantStore store, IOptions<TenancyOptions> options, CancellationToken cancellationToken) =>
        ChangeStatusAsync(name, offboarding.DeactivateAsync, store, options, cancellationToken);

    public static Task<Results<Ok<TenantResponse>, NotFound, ValidationProblem, ProblemHttpResult>> ReactivateAsync(
        string name, TenantOffboarding offboarding, ITenantStore store, IOptions<TenancyOptions> options, CancellationToken cancellationToken) =>
        ChangeStatusAsync(name, offboarding.ReactivateAsync, store, options, cancellationToken);

    /// <summary>
    /// Deletes a deactivated tenant. <c>schema=archive</c> (the default) keeps its data in an archive schema reachable by
    /// no tenant; <c>schema=drop</c> drops it. The name stays taken unless <c>releaseName=true</c>, which may also be
    /// sent later for a tenant deleted before.
    /// </summary>
    public static async Task<Results<Ok<TenantDeletionResponse>, NotFound, ValidationProblem, ProblemHttpResult>> DeleteAsync(
        string name,
        string? schema,
        bool? releaseName,
        TenantOffboarding offboarding,
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

        TenantDeletion deletion = await offboarding.DeleteAsync(name, disposal, releaseName ?? false, cancellationToken);
        store.Forget(name);
        return deletion.Outcome switch
        {
            DeletionOutcome.NotFound => TypedResults.NotFound(),
            DeletionOutcome.StillActive => TenantProblems.StillActive(name),
            _ => TypedResults.Ok(new TenantDeletionResponse(deletion.Name, deletion.ArchivedAs, deletion.NameReleased)),
        };
    }

    private static async Task<Results<Ok<TenantResponse>, NotFound, ValidationProblem, ProblemHttpResult>> ChangeStatusAsync(
        string name,
        Func<string, CancellationToken, Task<TenantRecord?>> change,
        ITenantStore store,
        IOptions<TenancyOptions> options,
        CancellationToken cancellationToken)
    {
        if (NameProblem(name, options) is { } problem)
        {
            return problem;
        }

        TenantRecord? record = await change(name, cancellationToken);
        store.Forget(name);
        return record switch
        {
            null => TypedResults.NotFound(),
            { Status: TenantStatus.Deleted } => TenantProblems.AlreadyDeleted(name),
            _ => TypedResults.Ok(TenantResponse.From(record)),
        };
    }

    private static ValidationProblem? NameProblem(string name, IOptions<TenancyOptions> options) =>
        TenantNames.Problem(name, options.Value.SharedSchema) is { } problem
            ? TypedResults.ValidationProblem(new Dictionary<string, string[]> { ["name"] = [problem] })
            : null;
}
