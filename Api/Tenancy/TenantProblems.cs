using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;

namespace Saas.Api.Tenancy;

/// <summary>The RFC 9457 problems about tenants (resolution and operators' requests); each has a stable type a client can switch on.</summary>
public static class TenantProblems
{
    public const string TypePrefix = "urn:tenant-saas:problem:";

    public static ProblemHttpResult Required(IEnumerable<string> strategies) => Problem(
        StatusCodes.Status400BadRequest, "tenant-required", "A tenant is required",
        $"This endpoint works on one tenant's data; name the tenant by: {string.Join(", ", strategies)}.");

    public static ProblemHttpResult Invalid(string reason) => Problem(
        StatusCodes.Status400BadRequest, "tenant-invalid", "Invalid tenant name", reason);

    public static ProblemHttpResult Forbidden() => Problem(
        StatusCodes.Status403Forbidden, "tenant-forbidden", "Not a member of this tenant",
        "The caller's tenant claim does not entitle it to the tenant this request names.");

    public static ProblemHttpResult NotFound(string name) => Problem(
        StatusCodes.Status404NotFound, "tenant-not-found", "Unknown tenant", $"No tenant named '{name}' is registered.");

    public static ProblemHttpResult Deactivated(string name) => Problem(
        StatusCodes.Status410Gone, "tenant-deactivated", "The tenant is deactivated",
        $"Tenant '{name}' has been deactivated by an operator; its data is kept until it is reactivated or deleted.");

    public static ProblemHttpResult Deleted(string name) => Problem(
        StatusCodes.Status410Gone, "tenant-deleted", "The tenant is deleted", $"Tenant '{name}' has been deleted.");

    public static ProblemHttpResult NotReady(string name, string state) => Problem(
        StatusCodes.Status503ServiceUnavailable, "tenant-not-ready", "The tenant is not ready",
        $"Tenant '{name}' is {state}: its schema is not at the latest migration yet.");

    public static ProblemHttpResult Throttled(string name, string plan, string limit, int retryAfterSeconds) => Problem(
        StatusCodes.Status429TooManyRequests, "tenant-throttled", "Too many requests for this tenant",
        $"Tenant '{name}' is over its plan's ({plan}) {limit} limit; retry after {retryAfterSeconds} s.");

    public static ProblemHttpResult Busy(string name, string plan, int connections, int retryAfterSeconds) => Problem(
        StatusCodes.Status503ServiceUnavailable, "tenant-busy", "The tenant's database connections are all in use",
        $"Tenant '{name}' has all {connections} database connections of its plan ({plan}) in use; retry after {retryAfterSeconds} s.");

    public static ProblemHttpResult StatementTimeout(string name, string plan) => Problem(
        StatusCodes.Status503ServiceUnavailable, "tenant-statement-timeout", "A database statement ran too long",
        $"A database statement of tenant '{name}' ran past its plan's ({plan}) statement timeout and was cancelled.");

    public static ProblemHttpResult UnknownPlan(string reason) => Problem(
        StatusCodes.Status400BadRequest, "plan-unknown", "Unknown plan", reason);

    public static ProblemHttpResult StillActive(string name) => Problem(
        StatusCodes.Status409Conflict, "tenant-active", "The tenant is active",
        $"Deactivate tenant '{name}' (POST /tenants/{name}/deactivate) before deleting it.");

    public static ProblemHttpResult AlreadyDeleted(string name) => Problem(
        StatusCodes.Status409Conflict, "tenant-deleted", "The tenant is deleted", $"Tenant '{name}' has been deleted; it cannot change any more.");

    public static ProblemHttpResult RequestFailed(string name, string? error) => Problem(
        StatusCodes.Status500InternalServerError, "tenant-request-failed", "The Worker could not carry out the request",
        $"Changing tenant '{name}' failed: {error}. The request is recorded; see the Worker's logs.");

    public static ProblemHttpResult NameRetired(string name) => Problem(
        StatusCodes.Status409Conflict, "tenant-name-retired", "The name belonged to a deleted tenant",
        $"'{name}' was a tenant's name; it can be used again once released: DELETE /tenants/{name}?releaseName=true.");

    public static ProblemHttpResult SchemaTaken(string name) => Problem(
        StatusCodes.Status409Conflict, "tenant-schema-taken", "The name is taken by a schema that is not a tenant's",
        $"The database has a schema named '{name}' that was not created for a tenant; a tenant of that name would take it over. Choose another name.");

    private static ProblemHttpResult Problem(int status, string type, string title, string detail) =>
        TypedResults.Problem(detail: detail, statusCode: status, title: title, type: TypePrefix + type);
}
