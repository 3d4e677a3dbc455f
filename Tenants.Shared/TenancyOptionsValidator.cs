using Microsoft.Extensions.Options;

namespace Tenants.Shared;

/// <summary>The shared schema's name obeys the tenant-name rules (bar clashing with itself), and is never <c>public</c>.</summary>
internal sealed class TenancyOptionsValidator : IValidateOptions<TenancyOptions>
{
    public ValidateOptionsResult Validate(string? name, TenancyOptions options)
    {
        // Checked against an impossible shared name so that only the general rules apply.
        string? problem = TenantNames.Problem(options.SharedSchema, sharedSchema: string.Empty);
        if (problem is not null)
        {
            return ValidateOptionsResult.Fail($"Tenancy:SharedSchema '{options.SharedSchema}': {problem}");
        }

        return options.RegistryCacheDuration < TimeSpan.Zero
            ? ValidateOptionsResult.Fail("Tenancy:RegistryCacheDuration must not be negative.")
            : ValidateOptionsResult.Success;
    }
}
