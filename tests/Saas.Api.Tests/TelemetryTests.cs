using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;
#if (includeSample)
using Microsoft.Extensions.Logging.Testing;
#endif
using Microsoft.Extensions.Options;
using Npgsql;
using OpenTelemetry;
using OpenTelemetry.Trace;
using Tenants.Shared;

namespace Saas.Api.Tests;

/// <summary>
/// The Api's own OpenTelemetry pipeline, with one extra processor that records finished spans. Activity listeners see
/// the whole process, where other tests run in parallel: this test's tenants have names no other test uses.
/// </summary>
public sealed class TelemetryTests(PostgresFixture postgres) : ApiTest(postgres)
{
    private readonly ConcurrentBag<Activity> _spans = [];

    [Fact]
    public async Task Every_span_of_a_tenant_request_carries_its_tenant_and_no_other()
    {
        await Api.ProvisionAsync("tel_acme", "tel_globex");
        using WebApplicationFactory<Program> traced = Api.WithWebHostBuilder(b => b.ConfigureTestServices(services =>
            services.ConfigureOpenTelemetryTracerProvider(t => t.AddProcessor(new Recorder(_spans)))));
        using HttpClient acme = Client(traced, Api.Tokens.Member("tel_acme"));
        using HttpClient globex = Client(traced, Api.Tokens.Member("tel_globex"));

        Assert.Equal(HttpStatusCode.OK, (await acme.GetAsync("/tenant", Cancellation)).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await globex.GetAsync("/tenant", Cancellation)).StatusCode);

        string database = new NpgsqlConnectionStringBuilder(Api.ConnectionString).Database!;
        string catalog = $"\"{Api.Service<IOptions<TenancyOptions>>().Value.SharedSchema}\".\"tenants\"";
        foreach (string tenant in (string[])["tel_acme", "tel_globex"])
        {
            Activity server = Assert.Single(_spans, s => s.Kind == ActivityKind.Server && Tag(s, "tenant.id") == tenant);
            Activity[] trace = [.. _spans.Where(s => s.TraceId == server.TraceId)];
            Activity[] npgsql = [.. trace.Where(s => s.Source.Name == "Npgsql")];
            Assert.NotEmpty(npgsql);
            Assert.All(trace, s => Assert.Contains(Tag(s, "tenant.id"), (string?[])[tenant, null])); // never another tenant

            // Inside the scope: every query of tenant data carries the tenant and {database}|{schema}.
            Activity[] tenantData = [.. npgsql.Where(s => Text(s).Contains("current_schema()", StringComparison.Ordinal) || Text(s).StartsWith("SET search_path", StringComparison.Ordinal))];
            Assert.NotEmpty(tenantData);
            Assert.All(tenantData, s => Assert.Equal(tenant, Tag(s, "tenant.id")));
            Assert.All(tenantData, s => Assert.Equal($"{database}|{tenant}", Tag(s, "db.namespace")));

            // Untagged spans are tenant resolution itself (catalog look-ups in the shared schema), before the scope opens.
            Assert.All(npgsql.Where(s => Tag(s, "tenant.id") is null), s => Assert.True(
                Text(s).Contains(catalog, StringComparison.Ordinal) || Text(s).Contains("pg_advisory_xact_lock", StringComparison.Ordinal) || s.DisplayName.StartsWith("CONNECT", StringComparison.Ordinal),
                $"untagged: {s.DisplayName} {Text(s)}"));
        }

        // Baggage naming another tenant changes nothing: the tenant comes from the resolved scope only. The request
        // continues a trace of the test's own, so its spans are found by that trace id.
        ActivityTraceId spoofedTrace = ActivityTraceId.CreateRandom();
        using var spoofed = new HttpRequestMessage(HttpMethod.Get, "/tenant");
        spoofed.Headers.Add("traceparent", $"00-{spoofedTrace}-{ActivitySpanId.CreateRandom()}-01");
        spoofed.Headers.Add("baggage", "tenant.id=tel_acme");
        Assert.Equal(HttpStatusCode.OK, (await globex.SendAsync(spoofed, Cancellation)).StatusCode);
        await Eventually.UntilAsync(() => _spans.Any(s => s.TraceId == spoofedTrace && s.Kind == ActivityKind.Server), "the spoofed request's server span", Cancellation);
        Activity[] spoofedSpans = [.. _spans.Where(s => s.TraceId == spoofedTrace)];
        Assert.Contains(spoofedSpans, s => s.Source.Name == "Npgsql");
        Assert.Equal("tel_globex", Tag(spoofedSpans.Single(s => s.Kind == ActivityKind.Server), "tenant.id"));
        Assert.All(spoofedSpans, s => Assert.Contains(Tag(s, "tenant.id"), (string?[])["tel_globex", null]));
    }

    [Fact]
    public async Task Npgsql_spans_follow_the_client_integrations_DisableTracing_and_the_rest_keep_their_tenant()
    {
        await Api.ProvisionAsync("tel_quiet");
        using WebApplicationFactory<Program> traced = Api.WithWebHostBuilder(b => b
            .UseSetting("Aspire:Npgsql:EntityFrameworkCore:PostgreSQL:DisableTracing", "true")
            .ConfigureTestServices(services => services.ConfigureOpenTelemetryTracerProvider(t => t.AddProcessor(new Recorder(_spans)))));
        using HttpClient quiet = Client(traced, Api.Tokens.Member("tel_quiet"));

        ActivityTraceId trace = ActivityTraceId.CreateRandom();
        using var request = new HttpRequestMessage(HttpMethod.Get, "/tenant");
        request.Headers.Add("traceparent", $"00-{trace}-{ActivitySpanId.CreateRandom()}-01");
        Assert.Equal(HttpStatusCode.OK, (await quiet.SendAsync(request, Cancellation)).StatusCode);
        await Eventually.UntilAsync(() => _spans.Any(s => s.TraceId == trace && s.Kind == ActivityKind.Server), "the request's server span", Cancellation);

        Assert.Equal("tel_quiet", Tag(_spans.Single(s => s.TraceId == trace && s.Kind == ActivityKind.Server), "tenant.id"));
        Assert.DoesNotContain(_spans, s => s.TraceId == trace && s.Source.Name == "Npgsql");
    }

#if (includeSample)
    [Fact]
    public async Task Log_lines_written_inside_a_tenant_request_carry_its_tenant()
    {
        await Api.ProvisionAsync("tel_logged");
        const string commands = "Microsoft.EntityFrameworkCore.Database.Command";
        using WebApplicationFactory<Program> logged = Api.WithWebHostBuilder(b => b
            .UseSetting($"Logging:LogLevel:{commands}", "Information")
            .ConfigureTestServices(services => services.AddFakeLogging()));
        using HttpClient client = Client(logged, Api.Tokens.Member("tel_logged"));

        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/articles", Cancellation)).StatusCode);

        // EF Core's command lines of the tenant's queries, written deep inside the endpoint, carry the scope's pair.
        FakeLogRecord[] lines = [.. logged.Services.GetFakeLogCollector().GetSnapshot().Where(r => r.Category == commands)];
        Assert.Contains(lines, r => TenantOf(r) == "tel_logged" && r.Message.Contains("FROM articles", StringComparison.Ordinal));
        Assert.All(lines, r => Assert.Contains(TenantOf(r), (string?[])["tel_logged", null])); // never another tenant
    }

    private static string? TenantOf(FakeLogRecord record) =>
        record.Scopes.OfType<IEnumerable<KeyValuePair<string, object?>>>().SelectMany(s => s).SingleOrDefault(p => p.Key == "tenant.id").Value as string;
#endif

    private static HttpClient Client(WebApplicationFactory<Program> factory, string token)
    {
        HttpClient client = factory.CreateClient();
        client.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", token);
        return client;
    }

    private static string? Tag(Activity span, string key) => span.GetTagItem(key) as string;

    private static string Text(Activity span) => Tag(span, "db.query.text") ?? Tag(span, "db.statement") ?? string.Empty;

    private sealed class Recorder(ConcurrentBag<Activity> spans) : BaseProcessor<Activity>
    {
        public override void OnEnd(Activity data) => spans.Add(data);
    }
}
