using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Postgres.Testing;

namespace Saas.AppHost.Tests;

public sealed class TelemetryByTenantTests(AppFixture fixture)
{
    private static CancellationToken Cancellation => TestContext.Current.CancellationToken;

    [Fact]
    public async Task The_dashboard_shows_an_acme_request_by_tenant_down_to_its_Npgsql_spans()
    {
        using (HttpClient acme = await fixture.ApiClientAsync("acme", Cancellation))
        using (HttpClient globex = await fixture.ApiClientAsync("globex", Cancellation))
        {
            Assert.Equal(HttpStatusCode.OK, (await acme.GetAsync("/t/acme/tenant", Cancellation)).StatusCode);
            Assert.Equal(HttpStatusCode.OK, (await globex.GetAsync("/t/globex/tenant", Cancellation)).StatusCode);
        }

        using HttpClient dashboard = new() { BaseAddress = fixture.App.GetEndpoint("aspire-dashboard", "http") };
        dashboard.DefaultRequestHeaders.Add("X-API-Key", AppFixture.DashboardApiKey);

        List<Span> spans = [];
        Span? acmeServer = null, globexServer = null;
        await Eventually.UntilAsync(
            async () =>
            {
                using HttpResponseMessage response = await dashboard.GetAsync("/api/telemetry/spans?resource=api", Cancellation);
                if (response.StatusCode == HttpStatusCode.NotFound)
                {
                    return false; // the dashboard knows a resource only once its first telemetry batch has arrived
                }

                response.EnsureSuccessStatusCode();
                spans = Span.Parse(await response.Content.ReadFromJsonAsync<JsonElement>(Cancellation));
                acmeServer = spans.FirstOrDefault(s => s.Kind == 2 && s.Attributes.GetValueOrDefault("url.path") == "/t/acme/tenant");
                globexServer = spans.FirstOrDefault(s => s.Kind == 2 && s.Attributes.GetValueOrDefault("url.path") == "/t/globex/tenant");
                return acmeServer is not null && globexServer is not null;
            },
            "the dashboard to show both tenants' requests",
            Cancellation);

        Assert.NotNull(acmeServer);
        Assert.NotNull(globexServer);
        Assert.Equal("acme", acmeServer.Attributes.GetValueOrDefault("tenant.id"));
        Span[] acmeNpgsql = [.. spans.Where(s => s.TraceId == acmeServer.TraceId && s.Scope == "Npgsql" && s.Attributes.GetValueOrDefault("tenant.id") is not null)];
        Assert.NotEmpty(acmeNpgsql);
        Assert.All(acmeNpgsql, s => Assert.Equal("acme", s.Attributes["tenant.id"]));
        Assert.All(acmeNpgsql, s => Assert.EndsWith("|acme", s.Attributes.GetValueOrDefault("db.namespace"), StringComparison.Ordinal));

        Assert.Equal("globex", globexServer.Attributes.GetValueOrDefault("tenant.id"));
        Assert.DoesNotContain(spans, s => s.TraceId == globexServer.TraceId && s.Attributes.GetValueOrDefault("tenant.id") == "acme");

        // A real browser on the dashboard's trace page: the span's details must show the tenant.
        string screenshot = Path.Combine(AppContext.BaseDirectory, "dashboard-by-tenant.png");
        File.Delete(screenshot);
        (int exit, string output) = await Browser.RunScriptAsync(
            "dashboard-screenshot.mjs", [new Uri(dashboard.BaseAddress!, $"/traces/detail/{acmeServer.TraceId}").ToString(), "acme", screenshot], Cancellation);
        Assert.True(exit == 0, $"{output} (what the browser saw: {screenshot})");
        Assert.True(new FileInfo(screenshot).Length > 20_000, "the screenshot is (nearly) empty");
        TestContext.Current.AddAttachment("dashboard-by-tenant.png", await File.ReadAllBytesAsync(screenshot, Cancellation), "image/png");
    }

    /// <summary>One span of the dashboard's OTLP JSON: the few fields the assertions need.</summary>
    private sealed record Span(string TraceId, string Scope, int Kind, Dictionary<string, string> Attributes)
    {
        public static List<Span> Parse(JsonElement otlp)
        {
            var spans = new List<Span>();
            JsonElement root = otlp.TryGetProperty("data", out JsonElement data) ? data : otlp;
            foreach (JsonElement resource in root.GetProperty("resourceSpans").EnumerateArray())
            {
                foreach (JsonElement scope in resource.GetProperty("scopeSpans").EnumerateArray())
                {
                    string scopeName = scope.TryGetProperty("scope", out JsonElement s) && s.TryGetProperty("name", out JsonElement n) ? n.GetString() ?? "" : "";
                    foreach (JsonElement span in scope.GetProperty("spans").EnumerateArray())
                    {
                        var attributes = new Dictionary<string, string>(StringComparer.Ordinal);
                        if (span.TryGetProperty("attributes", out JsonElement list))
                        {
                            foreach (JsonElement a in list.EnumerateArray())
                            {
                                JsonElement value = a.GetProperty("value");
                                attributes[a.GetProperty("key").GetString()!] = value.TryGetProperty("stringValue", out JsonElement sv) ? sv.GetString()! : value.ToString();
                            }
                        }

                        int kind = span.TryGetProperty("kind", out JsonElement k) && k.ValueKind == JsonValueKind.Number ? k.GetInt32() : 0;
                        spans.Add(new Span(span.GetProperty("traceId").GetString()!, scopeName, kind, attributes));
                    }
                }
            }

            return spans;
        }
    }
}
