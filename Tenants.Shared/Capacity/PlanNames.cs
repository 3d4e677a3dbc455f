using System.Text.RegularExpressions;

namespace Tenants.Shared.Capacity;

/// <summary>The rule for a plan's name: it is stored in the catalog and shown to operators, so it stays plain.</summary>
public static partial class PlanNames
{
    public static bool IsValid(string? name) => name is not null && Rule().IsMatch(name);

    [GeneratedRegex("^[a-z][a-z0-9_-]{0,62}$")]
    private static partial Regex Rule();
}
