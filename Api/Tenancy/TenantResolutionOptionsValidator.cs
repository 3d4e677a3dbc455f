using Microsoft.Extensions.Options;

namespace Saas.Api.Tenancy;

/// <summary>Refuses, at startup, a resolution configuration no request could satisfy.</summary>
internal sealed class TenantResolutionOptionsValidator : IValidateOptions<TenantResolutionOptions>
{
    private static readonly string[] Known = ["claim", "route", "host", "header"];

    public ValidateOptionsResult Validate(string? name, TenantResolutionOptions options)
    {
        var failures = new List<string>();
        failures.AddRange(options.Strategies
            .Where(s => !Known.Contains(s, StringComparer.OrdinalIgnoreCase))
            .Select(s => $"{TenantResolutionOptions.SectionName}:Strategies names '{s}'; known strategies are {string.Join(", ", Known)}."));
        failures.AddRange(options.Strategies
            .GroupBy(s => s, StringComparer.OrdinalIgnoreCase)
            .Where(g => g.Count() > 1)
            .Select(g => $"{TenantResolutionOptions.SectionName}:Strategies names '{g.Key}' more than once."));

        int placeholder = options.HostPattern.IndexOf(HostStrategy.Placeholder, StringComparison.Ordinal);
        if (placeholder < 0 || options.HostPattern.IndexOf(HostStrategy.Placeholder, placeholder + 1, StringComparison.Ordinal) >= 0)
        {
            failures.Add($"{TenantResolutionOptions.SectionName}:HostPattern must contain {HostStrategy.Placeholder} exactly once; it is '{options.HostPattern}'.");
        }

        if (string.IsNullOrWhiteSpace(options.HeaderName) || string.IsNullOrWhiteSpace(options.ClaimType) || string.IsNullOrWhiteSpace(options.RouteParameter))
        {
            failures.Add($"{TenantResolutionOptions.SectionName}: HeaderName, ClaimType and RouteParameter must not be empty.");
        }

        return failures.Count > 0 ? ValidateOptionsResult.Fail(failures) : ValidateOptionsResult.Success;
    }
}
