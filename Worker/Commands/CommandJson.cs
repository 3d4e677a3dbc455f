using System.Text.Json;
using System.Text.Json.Serialization;
using Tenants.Shared.Catalog;
using Tenants.Shared.Placement;

namespace Saas.Worker.Commands;

/// <summary>
/// A tenant in <c>tenants list --json</c>: the fields and values of the Api's <c>GET /tenants</c>, and on a Citus
/// cluster the node its schema is on (<c>HOST:PORT</c>; null on a single server).
/// </summary>
internal sealed record TenantJson(
    string Name,
    string DisplayName,
    string State,
    string Status,
    string? LastMigration,
    int Attempts,
    string? LastError,
    DateTimeOffset RegisteredAt,
    DateTimeOffset UpdatedAt,
    string? ArchivedAs,
    string? Node)
{
    public static TenantJson From(TenantRecord r, string? node) => new(
        r.Name, r.DisplayName, CommandJson.Lower(r.State), CommandJson.Lower(r.Status), r.LastMigration, r.Attempts, r.LastError, r.RegisteredAt, r.UpdatedAt, r.ArchivedAs, node);
}

/// <summary>
/// <c>tenants status --json</c>: counts over the registered (not deleted) tenants, each failed one, and on a Citus
/// cluster how many tenants each node holds (empty on a single server) and each tenant's queries and CPU time, busiest
/// first (null where Citus does not track tenants).
/// </summary>
internal sealed record StatusJson(
    string? LatestMigration,
    int Registered,
    int Pending,
    int Ready,
    int Failed,
    int Deactivated,
    int Behind,
    IReadOnlyList<FailedTenantJson> Failures,
    IReadOnlyDictionary<string, int> Nodes,
    IReadOnlyList<TenantActivity>? Activity);

/// <summary>A failed tenant in <c>tenants status --json</c>.</summary>
internal sealed record FailedTenantJson(string Name, int Attempts, string? LastError);

/// <summary>The JSON the command line prints: camelCase, indented, enums as the catalog's lowercase words.</summary>
[JsonSourceGenerationOptions(JsonSerializerDefaults.Web, WriteIndented = true)]
[JsonSerializable(typeof(IReadOnlyList<TenantJson>))]
[JsonSerializable(typeof(StatusJson))]
internal sealed partial class CommandJson : JsonSerializerContext
{
    public static string Lower<T>(T value)
        where T : struct, Enum => value.ToString().ToLowerInvariant();
}
