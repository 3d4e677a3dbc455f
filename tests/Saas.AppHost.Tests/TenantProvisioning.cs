using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Postgres.Testing;

namespace Saas.AppHost.Tests;

/// <summary>Registers a tenant through the Api as README tells a client to, and waits until it is ready.</summary>
internal static class TenantProvisioning
{
    /// <summary>
    /// Posts the tenant: 201 when the Worker migrated it within the Api's request wait, else 202 and then
    /// <c>GET /tenants/{name}</c> until it is no longer pending (a busy machine takes longer than the wait).
    /// Fails unless it ends ready; returns the tenant as the Api last described it.
    /// </summary>
    public static async Task<JsonElement> AddTenantAsync(this HttpClient admin, string name, string displayName, CancellationToken cancellationToken)
    {
        using HttpResponseMessage created = await admin.PostAsJsonAsync("/tenants", new { name, displayName }, cancellationToken);
        string body = await created.Content.ReadAsStringAsync(cancellationToken);
        Assert.True(created.StatusCode is HttpStatusCode.Created or HttpStatusCode.Accepted, $"{created.StatusCode} {created.Headers.WwwAuthenticate} {body}");
        Assert.Equal($"/tenants/{name}", created.Headers.Location?.OriginalString);

        JsonElement tenant = JsonSerializer.Deserialize<JsonElement>(body);
        await Eventually.UntilAsync(
            async () =>
            {
                if (tenant.GetProperty("state").GetString() != "pending")
                {
                    return true;
                }

                tenant = await admin.GetFromJsonAsync<JsonElement>($"/tenants/{name}", cancellationToken);
                return false;
            },
            $"{name} to leave pending",
            cancellationToken);

        Assert.True(tenant.GetProperty("state").GetString() == "ready", tenant.ToString());
        return tenant;
    }
}
