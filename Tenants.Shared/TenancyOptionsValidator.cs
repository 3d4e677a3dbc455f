using System.Text.RegularExpressions;
using Microsoft.Extensions.Options;

namespace Tenants.Shared;

/// <summary>The shared schema's name obeys the tenant-name rules (bar clashing with itself), and is never <c>public</c>.</summary>
internal sealed partial class TenancyOptionsValidator : IValidateOptions<TenancyOptions>
{
    public ValidateOptionsResult Validate(string? name, TenancyOptions options)
    {
        // Checked against an impossible shared name so that only the general rules apply.
        string? problem = TenantNames.Problem(options.SharedSchema, sharedSchema: string.Empty);
        if (problem is not null)
        {
            return ValidateOptionsResult.Fail($"Tenancy:SharedSchema '{options.SharedSchema}': {problem}");
        }

        if (options.RegistryCacheDuration < TimeSpan.Zero)
        {
            return ValidateOptionsResult.Fail("Tenancy:RegistryCacheDuration must not be negative.");
        }

        // A prefix leaves room for a name: the role's name is the prefix then the tenant (hashed when too long).
        return options.TenantRolePrefix is not { Length: >= 1 and <= 20 } prefix || !ValidPrefix().IsMatch(prefix)
            ? ValidateOptionsResult.Fail($"Tenancy:TenantRolePrefix '{options.TenantRolePrefix}': 1 to 20 characters, a lowercase letter first, then lowercase letters, digits or underscores.")
            : ValidateOptionsResult.Success;
    }

    [GeneratedRegex("^[a-z][a-z0-9_]*$")]
    private static partial Regex ValidPrefix();
}
