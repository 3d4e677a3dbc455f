using System.Diagnostics;
using System.Globalization;
using Microsoft.AspNetCore.Diagnostics;
using Npgsql;
using Saas.Api.Tenancy;
using Tenants.Shared;
using Tenants.Shared.Capacity;

namespace Saas.Api.Infrastructure;

/// <summary>
/// A tenant at its plan's database limits gets a 503 problem, never a 500: <c>tenant-busy</c> (with Retry-After) when
/// all of its connections were in use for the plan's wait, <c>tenant-statement-timeout</c> when a statement ran past
/// the plan's <c>statement_timeout</c>. Counted by plan (never by tenant); the tenant is in the log and the span.
/// Any other exception is left to the next handler.
/// </summary>
internal sealed partial class TenantCapacityHandler(ILogger<TenantCapacityHandler> logger) : IExceptionHandler
{
    private const int RetryAfterSeconds = 1;

    public async ValueTask<bool> TryHandleAsync(HttpContext httpContext, Exception exception, CancellationToken cancellationToken)
    {
        ResolvedTenant? tenant = httpContext.Features.Get<ResolvedTenant>();
        if (tenant is null)
        {
            return false;
        }

        string name = tenant.Record.Name;
        if (Find<TenantBusyException>(exception) is { } busy)
        {
            Refused(tenant, "connections");
            httpContext.Response.Headers.RetryAfter = RetryAfterSeconds.ToString(CultureInfo.InvariantCulture);
            await TenantProblems.Busy(name, tenant.Plan, busy.Connections, RetryAfterSeconds).ExecuteAsync(httpContext);
            return true;
        }

        // 57014 is also what a cancelled request gives; a request the client abandoned needs no answer.
        if (Find<PostgresException>(exception) is { SqlState: PostgresErrorCodes.QueryCanceled } && !httpContext.RequestAborted.IsCancellationRequested)
        {
            Refused(tenant, "statement_timeout");
            await TenantProblems.StatementTimeout(name, tenant.Plan).ExecuteAsync(httpContext);
            return true;
        }

        return false;
    }

    private void Refused(ResolvedTenant tenant, string limit)
    {
        TenancyTelemetry.RequestsThrottled.Add(1, new TagList { { "tenant_saas.plan", tenant.Plan }, { "tenant_saas.limit", limit } });
        Activity.Current?.SetTag("tenant_saas.throttled", limit);
        LogRefused(tenant.Record.Name, tenant.Plan, limit);
    }

    private static T? Find<T>(Exception exception)
        where T : Exception
    {
        for (Exception? e = exception; e is not null; e = e.InnerException)
        {
            if (e is T found)
            {
                return found;
            }
        }

        return null;
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Request of tenant {Tenant} (plan {Plan}) refused: at its {Limit} limit")]
    private partial void LogRefused(string tenant, string plan, string limit);
}
