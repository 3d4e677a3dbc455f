using System.Globalization;

namespace Tenants.Shared.Placement;

/// <summary>A node of a Citus cluster, as Citus names it: host and port.</summary>
public sealed record TenantNode(string Host, int Port)
{
    /// <summary>Reads <c>HOST:PORT</c>; null when it is not of that form.</summary>
    public static TenantNode? Parse(string text)
    {
        int colon = text.LastIndexOf(':');
        return colon > 0 && int.TryParse(text.AsSpan(colon + 1), NumberStyles.None, CultureInfo.InvariantCulture, out int port) && port is > 0 and <= 65535
            ? new TenantNode(text[..colon], port)
            : null;
    }

    public override string ToString() => string.Create(CultureInfo.InvariantCulture, $"{Host}:{Port}");
}
