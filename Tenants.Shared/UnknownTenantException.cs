namespace Tenants.Shared;

/// <summary>A valid tenant name that the registry does not hold. Thrown before any tenant SQL runs.</summary>
public sealed class UnknownTenantException(string name)
    : InvalidOperationException($"Tenant '{name}' is not registered. Register it (and provision its schema) before entering its context.")
{
    public string TenantName { get; } = name;
}
