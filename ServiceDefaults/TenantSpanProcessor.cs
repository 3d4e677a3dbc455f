using System.Diagnostics;
using OpenTelemetry;
using Tenants.Shared;

namespace Microsoft.Extensions.Hosting;

/// <summary>
/// Tags every span started inside a tenant scope with <c>tenant.id</c>: the server span, EF Core's and Npgsql's, and
/// outgoing HttpClient spans alike. The tenant comes from the ambient <see cref="TenantContext"/> only, never from
/// incoming baggage, which the client controls.
/// </summary>
public sealed class TenantSpanProcessor : BaseProcessor<Activity>
{
    public const string TenantAttribute = "tenant.id";

    public override void OnStart(Activity data)
    {
        if (TenantContext.CurrentTenant is { } tenant)
        {
            data.SetTag(TenantAttribute, tenant);
        }
    }
}
