namespace Tenants.Shared;

/// <summary>A tenant name broke <see cref="TenantNames"/>' rules. Nothing was sent to the database.</summary>
public sealed class InvalidTenantNameException(string? name, string reason)
    : ArgumentException($"Invalid tenant name {Describe(name)}: {reason}", nameof(name))
{
    public string? TenantName { get; } = name;

    public string Reason { get; } = reason;

    // Hostile names may hold control characters or be very long; never echo them raw into logs.
    private static string Describe(string? name)
    {
        if (name is null)
        {
            return "(null)";
        }

        string shown = name.Length > 80 ? name[..80] + "…" : name;
        return "\"" + string.Concat(shown.Select(c => char.IsControl(c) ? $"\\u{(int)c:x4}" : c.ToString())) + "\"";
    }
}
