using System.Collections;

namespace Tenants.Shared;

/// <summary>
/// The log scope of work done for one tenant (<c>logger.BeginScope(new TenantLogScope(scope.Schema))</c>): one
/// <c>tenant.id</c> pair (the spans' attribute name), which logging providers read as structured state
/// (OpenTelemetry's exported records carry it as an attribute). A list of one, not a dictionary: it is made for every
/// request, and for every tenant a job visits.
/// </summary>
public sealed class TenantLogScope(string tenant) : IReadOnlyList<KeyValuePair<string, object?>>
{
    public int Count => 1;

    public KeyValuePair<string, object?> this[int index] =>
        index == 0 ? new(TenantSpanProcessor.TenantAttribute, tenant) : throw new ArgumentOutOfRangeException(nameof(index));

    public IEnumerator<KeyValuePair<string, object?>> GetEnumerator()
    {
        yield return this[0];
    }

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();

    public override string ToString() => $"{TenantSpanProcessor.TenantAttribute}:{tenant}";
}
