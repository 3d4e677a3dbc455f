using System.Net;
using System.Net.Http.Json;
using System.Text;
using Microsoft.Extensions.Options;
using Saas.Api.Model;
using Tenants.Shared;

namespace Saas.Api.Tests;

/// <summary>
/// Generated bad input (seeded, so a failure reproduces): thousands of tenant names through the header, the host, the
/// route and provisioning, with malformed UTF-8, control characters, look-alikes, reserved names and very long values.
/// Each request resolves to exactly the tenant it names or gets a 4xx problem; none is a 500, and no schema appears
/// for a rejected name.
/// </summary>
public sealed class FuzzTests(PostgresFixture postgres) : ApiTest(postgres)
{
    private const int Seed = 20261129;

    private static readonly System.Text.Json.JsonSerializerOptions Web = new(System.Text.Json.JsonSerializerDefaults.Web);

    [Fact]
    public async Task Generated_names_resolve_exactly_or_get_a_4xx_problem_never_a_500_nor_a_schema()
    {
        await Api.ProvisionAsync("acme");
        string shared = Api.Service<IOptions<TenancyOptions>>().Value.SharedSchema;
        HashSet<string> schemasBefore = await Api.SchemasAsync();
        using HttpClient admin = Api.Client(Api.Tokens.Admin());
        var random = new Random(Seed);
        int sent = 0;

        foreach (string name in Names(random, 800).Append("acme"))
        {
            // The same name by header, by host and by route; a channel that cannot carry it at all is skipped.
            foreach (Func<HttpRequestMessage?> build in (Func<HttpRequestMessage?>[])
                [
                    () => WithHeader("X-Tenant", name),
                    () => WithHost(name),
                    () => new HttpRequestMessage(HttpMethod.Get, $"/t/{Uri.EscapeDataString(name)}/tenant"),
                ])
            {
                if (Build(build) is not { } request)
                {
                    continue;
                }

                using (request)
                using (HttpResponseMessage? response = await TrySendAsync(admin, request))
                {
                    if (response is not null)
                    {
                        sent++;
                        await AssertResolvedOrRefusedAsync(response, name);
                    }
                }
            }
        }

        // Raw malformed UTF-8 and stray escapes in the route, as bytes a client can really send.
        foreach (string raw in (string[])["%C3%28", "%FF", "%ED%A0%80", "%00acme", "acme%0A", "%E2%82", "ac%me", "%2e%2e", "acme%2Fglobex", "%C0%AF"])
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, new Uri($"/t/{raw}/tenant", UriKind.Relative));
            using HttpResponseMessage? response = await TrySendAsync(admin, request);
            if (response is not null)
            {
                sent++;
                Assert.True((int)response.StatusCode is >= 400 and < 500, $"{raw}: {(int)response.StatusCode}");
            }
        }

        // Provisioning: every generated name the validator refuses is a 400 problem, and creates nothing.
        foreach (string name in Names(random, 400).Where(n => TenantNames.Problem(n, shared) is not null).Append(shared))
        {
            using HttpResponseMessage response = await admin.PostAsJsonAsync("/tenants", new CreateTenantRequest(name, "Fuzz"), Cancellation);
            sent++;
            Assert.True(response.StatusCode == HttpStatusCode.BadRequest, $"{Show(name)}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync(Cancellation)}");
            Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        }

        Assert.True(sent > 2_000, $"only {sent} requests could be sent");
        Assert.Equal(schemasBefore, await Api.SchemasAsync());
        Assert.Equal(["acme"], (await admin.GetFromJsonAsync<List<TenantResponse>>("/tenants", Cancellation))!.Select(t => t.Name));
    }

    private static async Task AssertResolvedOrRefusedAsync(HttpResponseMessage response, string name)
    {
        int status = (int)response.StatusCode;
        string body = await response.Content.ReadAsStringAsync(Cancellation);
        if (status == 200)
        {
            // Only a registered tenant resolves, and only the one named.
            CurrentTenantResponse tenant = System.Text.Json.JsonSerializer.Deserialize<CurrentTenantResponse>(body, Web)!;
            Assert.Equal(("acme", "acme"), (name, tenant.Name));
            return;
        }

        Assert.True(status is >= 400 and < 500, $"{Show(name)}: {status} {body}");
        Assert.True(response.Content.Headers.ContentType?.MediaType == "application/problem+json" || body.Length == 0, $"{Show(name)}: {status} {body}");
    }

    /// <summary>Names from a grammar of trouble; most are invalid, some valid but unregistered.</summary>
    private static IEnumerable<string> Names(Random random, int count)
    {
        string[] alphabets =
        [
            "abcdefghijklmnopqrstuvwxyz0123456789_",
            "ABCDEFGHIJKLMNOPQRSTUVWXYZ",
            "-.;'\"\\/ %$*()[]{}<>|&#?=+,:`~!@",
            "\u0000\u0001\t\r\n\u001b\u007f\u0085\u200b\u2028\ufeff",
            "éüßøåçñ\u0430\u0441\u0435\uff45\u0131\u017f", // accents, Cyrillic and full-width look-alikes, dotless i, long s
            "😀🏳️‍🌈\ud83d", // emoji, a joiner sequence, a lone surrogate
        ];
        string[] fixedOnes = ["", " ", "acme ", " acme", "ACME", "Acme", "acme\u0000", "pg_catalog", "pg_temp_1", "public", "information_schema", "shared", "a", "_acme", "1acme", new string('a', 63), new string('a', 64), new string('a', 5000), "acme;drop schema acme", "acme\"", "ａｃｍｅ"];
        foreach (string name in fixedOnes)
        {
            yield return name;
        }

        for (int i = 0; i < count - fixedOnes.Length; i++)
        {
            var name = new StringBuilder();
            int length = random.Next(10) == 0 ? random.Next(60, 400) : random.Next(1, 20);
            for (int c = 0; c < length; c++)
            {
                string alphabet = alphabets[random.Next(10) < 6 ? 0 : random.Next(alphabets.Length)];
                name.Append(alphabet[random.Next(alphabet.Length)]);
            }

            yield return name.ToString();
        }
    }

    /// <summary>Sends, or returns null when the in-memory client itself refuses the request (a NUL in the path).</summary>
    private static async Task<HttpResponseMessage?> TrySendAsync(HttpClient client, HttpRequestMessage request)
    {
        try
        {
            return await client.SendAsync(request, Cancellation);
        }
        catch (InvalidOperationException e) when (e.Message.Contains("null characters", StringComparison.Ordinal))
        {
            return null;
        }
    }

    private static HttpRequestMessage? WithHeader(string header, string value)
    {
        var request = new HttpRequestMessage(HttpMethod.Get, "/tenant");
        return request.Headers.TryAddWithoutValidation(header, value) ? request : null;
    }

    private static HttpRequestMessage? WithHost(string name)
    {
        var request = new HttpRequestMessage(HttpMethod.Get, "/tenant");
        request.Headers.Host = $"{name}.localhost";
        return request;
    }

    /// <summary>Builds a request, or null when the client itself refuses to carry the value (no request to test).</summary>
    private static HttpRequestMessage? Build(Func<HttpRequestMessage?> build)
    {
        try
        {
            return build();
        }
        catch (FormatException)
        {
            return null;
        }
    }

    private static string Show(string name) =>
        name.Length > 80 ? $"{Escape(name[..80])}... ({name.Length} chars)" : Escape(name);

    private static string Escape(string s) =>
        string.Concat(s.Select(c => char.IsControl(c) || char.IsSurrogate(c) ? $"\\u{(int)c:x4}" : c.ToString()));
}
