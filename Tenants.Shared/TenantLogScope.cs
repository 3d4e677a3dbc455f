using System.Collections;

namespace Tenants.Shared;

/// <summary>
/// A tenant scope as logging providers read it: one <c>tenant.id</c> pair (the spans' attribute name), structured
/// state that OpenTelemetry's exported records carry as an attribute. Made once per tenant scope, when its first line
/// is written.
/// </summary>
internal sealed class TenantLogScope(string tenant) : IReadOnlyList<KeyValuePair<string, object?>>
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
