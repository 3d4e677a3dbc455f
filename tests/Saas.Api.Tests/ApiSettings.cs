using Microsoft.Extensions.Configuration;
using Tenants.Shared;

namespace Saas.Api.Tests;

/// <summary>The Api's own settings (template options among them), read before any Api starts.</summary>
internal static class ApiSettings
{
    /// <summary>The shared schema's name.</summary>
    public static readonly string SharedSchema = new ConfigurationBuilder()
        .AddJsonFile(Path.Combine(AppContext.BaseDirectory, "appsettings.json"))
        .Build()[$"{TenancyOptions.SectionName}:{nameof(TenancyOptions.SharedSchema)}"] ?? "shared";
}
