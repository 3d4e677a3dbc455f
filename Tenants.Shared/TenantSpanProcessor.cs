using System.Diagnostics;
using OpenTelemetry;

namespace Tenants.Shared;

/// <summary>
/// Tags every span started inside a tenant scope with <c>tenant.id</c>: the server span, EF Core's and Npgsql's, and
/// outgoing HttpClient spans alike. The tenant comes from the ambient <see cref="TenantContext"/> only, never from
/// incoming baggage, which the client controls. Npgsql spans also get <c>db.namespace</c> as <c>{database}|{schema}</c>,
/// the PostgreSQL semantic conventions' form, since the schema is what tells tenants apart.
/// </summary>
public sealed class TenantSpanProcessor : BaseProcessor<Activity>
{
    public const string TenantAttribute = "tenant.id";

    private const string NamespaceAttribute = "db.namespace";

    public override void OnStart(Activity data)
    {
        if (TenantContext.CurrentTenant is { } tenant)
        {
            data.SetTag(TenantAttribute, tenant);
        }
    }

    public override void OnEnd(Activity data)
    {
        if (data.Source.Name != "Npgsql" || data.GetTagItem(TenantAttribute) is not string tenant)
        {
            return;
        }

        // Npgsql sets the database name by the time the span ends (db.namespace, or db.name in older conventions).
        string? database = data.GetTagItem(NamespaceAttribute) as string ?? data.GetTagItem("db.name") as string;
        if (database is not null && !database.Contains('|', StringComparison.Ordinal))
        {
            data.SetTag(NamespaceAttribute, $"{database}|{tenant}");
        }
    }
}
