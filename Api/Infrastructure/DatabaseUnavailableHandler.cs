using System.Net.Sockets;
using Microsoft.AspNetCore.Diagnostics;
using Microsoft.AspNetCore.Mvc;
using Npgsql;
using Saas.Api.Tenancy;

namespace Saas.Api.Infrastructure;

/// <summary>
/// While PostgreSQL is down or restarting, a request that needs it gets a 503 problem with Retry-After instead of a
/// 500: the client may retry, and learns nothing about the server's internals (no exception text, no stack trace).
/// Any other exception is left to the default handler (a plain 500 problem).
/// </summary>
/// <remarks>
/// Recovery needs nothing from here, and no retry strategy (which would clash with user transactions and could repeat
/// a write whose commit was acknowledged but not received; <c>Aspire:Npgsql:EntityFrameworkCore:PostgreSQL:DisableRetry</c>
/// is true in appsettings.json): connections opened after the restart work, and Npgsql drops the whole pool when the
/// first connection left from before the restart breaks. Under load that happens during the outage itself; after a
/// restart no request saw, that one request gets this 503. DatabaseRestartTests pins both. With retries turned on, a
/// request whose retries are spent still gets this 503: EF Core's RetryLimitExceededException wraps the last failure.
/// </remarks>
internal sealed class DatabaseUnavailableHandler(IProblemDetailsService problems) : IExceptionHandler
{
    public const string ProblemType = TenantProblems.TypePrefix + "database-unavailable";

    /// <summary>A restart takes seconds; a client that waits this long has a fair chance to find the database back.</summary>
    public static readonly TimeSpan RetryAfter = TimeSpan.FromSeconds(5);

    public async ValueTask<bool> TryHandleAsync(HttpContext httpContext, Exception exception, CancellationToken cancellationToken)
    {
        if (!IsDatabaseUnavailable(exception))
        {
            return false;
        }

        httpContext.Response.StatusCode = StatusCodes.Status503ServiceUnavailable;
        httpContext.Response.Headers.RetryAfter = ((int)RetryAfter.TotalSeconds).ToString(System.Globalization.CultureInfo.InvariantCulture);

        // The exception stays out of the context on purpose: no problem writer may serialise it into the body.
        return await problems.TryWriteAsync(new ProblemDetailsContext
        {
            HttpContext = httpContext,
            ProblemDetails = new ProblemDetails
            {
                Status = StatusCodes.Status503ServiceUnavailable,
                Type = ProblemType,
                Title = "The database is unavailable",
                Detail = "The service cannot reach its database at the moment. Retry later.",
            },
        });
    }

    /// <summary>
    /// Whether the exception, or one it wraps (EF Core's DbUpdateException and its "likely due to a transient failure"
    /// InvalidOperationException both do), says the server cannot be reached or is shutting down or starting up. A
    /// PostgreSQL error of any other kind (a constraint, a permission) is a real failure and decides on its own.
    /// </summary>
    public static bool IsDatabaseUnavailable(Exception exception)
    {
        for (Exception? e = exception; e is not null; e = e.InnerException)
        {
            switch (e)
            {
                case PostgresException postgres:
                    return postgres.SqlState is PostgresErrorCodes.AdminShutdown or PostgresErrorCodes.CrashShutdown or PostgresErrorCodes.CannotConnectNow
                        || postgres.SqlState.StartsWith("08", StringComparison.Ordinal); // class 08: connection exception
                case NpgsqlException { IsTransient: true }: // a broken or refused connection (IO, socket, timeout)
                case SocketException:
                    return true;
            }
        }

        return false;
    }
}
