using Microsoft.AspNetCore.Diagnostics;
using Saas.Api.Tenancy;
using Tenants.Shared;

namespace Saas.Api.Infrastructure;

/// <summary>
/// A tenant name whose schema exists without being a tenant's (the catalog refuses to register it) gets a 409 problem,
/// <c>tenant-schema-taken</c>, wherever the registration was asked for. Any other exception is left to the next handler.
/// </summary>
internal sealed class SchemaTakenHandler : IExceptionHandler
{
    public async ValueTask<bool> TryHandleAsync(HttpContext httpContext, Exception exception, CancellationToken cancellationToken)
    {
        if (exception is not SchemaTakenException taken)
        {
            return false;
        }

        await TenantProblems.SchemaTaken(taken.TenantName).ExecuteAsync(httpContext);
        return true;
    }
}
