using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Saas.Api.Model;
using Saas.Api.Tenancy;
using Tenants.Shared;

namespace Saas.Api.Tests;

/// <summary>
/// Generated bad input (seeded, so a failure reproduces): hundreds of tenant names each through the header, the host,
/// the route and provisioning, and malformed UTF-8 in the route as raw bytes, with control characters, look-alikes,
/// reserved names and very long values, to the Api on a real loopback port. What an HttpClient refuses to send (a NUL
/// or CR/LF in a header, a host that is no host name) goes over a raw socket instead. Every request the app answers
/// resolves to exactly the tenant it names or gets a 4xx problem; none is a 500, and no schema appears for a rejected
/// name.
/// </summary>
public sealed class FuzzTests(PostgresFixture postgres) : ApiTest(postgres)
{
    private const int Seed = 20261129;

    /// <summary>The requests each channel must carry to the app at least (not counting the server's own refusals).</summary>
    private static readonly Dictionary<Channel, int> Floors = new()
    {
        [Channel.Header] = 600,
        [Channel.Host] = 120, // most generated hosts are no host names: the server refuses them itself
        [Channel.Route] = 650,
        [Channel.RawRoute] = 300,
        [Channel.Provisioning] = 350,
    };

    /// <summary>Set on every response the app's pipeline starts, so that the server's protocol-level refusals show apart.</summary>
    private const string AnsweredByApp = "X-Fuzz-Answered-By-App";

    private enum Channel
    {
        Header,
        Host,
        Route,
        RawRoute,
        Provisioning,
    }

    /// <summary>A response, from the HttpClient or off a raw socket.</summary>
    private sealed record Answer(int Status, string? MediaType, string Body, bool ByApp);

    /// <summary>What one channel carried: requests, those sent over a raw socket, those the app answered.</summary>
    private sealed class Tally
    {
        public int Sent { get; set; }

        public int Raw { get; set; }

        public int ByApp { get; set; }

        public override string ToString() => $"{Sent} sent ({Raw} raw), {ByApp} answered by the app";
    }

    public override async ValueTask InitializeAsync()
    {
        await base.InitializeAsync();
        Api.UseKestrel(0); // a real loopback port: the raw socket needs one
    }

    protected override void ConfigureServices(IServiceCollection services) => services.AddSingleton<IStartupFilter, MarkAppAnswers>();

    [Fact]
    public async Task Generated_names_resolve_exactly_or_get_a_4xx_problem_never_a_500_nor_a_schema()
    {
        Api.StartServer();
        Uri server = Api.ClientOptions.BaseAddress;
        await Api.ProvisionAsync("acme");
        string shared = Api.Service<IOptions<TenancyOptions>>().Value.SharedSchema;
        string header = Api.Service<IOptions<TenantResolutionOptions>>().Value.HeaderName;
        HashSet<string> schemasBefore = await Api.SchemasAsync();
        string token = Api.Tokens.Admin();
        using HttpClient admin = Api.Client(token);
        byte[] authorization = RawHttp.Header("Authorization", $"Bearer {token}");
        byte[] serverHost = RawHttp.Header("Host", server.Authority);
        var random = new Random(Seed);
        Dictionary<Channel, Tally> tallies = Enum.GetValues<Channel>().ToDictionary(c => c, _ => new Tally());

        foreach (string name in Names(random, 800).Append("acme"))
        {
            // The same name by header, by host and by route; over the raw socket where the client will not carry it.
            Answer byHeader = await SendAsync(admin, tallies[Channel.Header], () =>
            {
                var request = new HttpRequestMessage(HttpMethod.Get, "/tenant");
                return request.Headers.TryAddWithoutValidation(header, name) ? request : null;
            }, () => RawHttp.GetAsync(server, "/tenant"u8.ToArray(), [serverHost, authorization, RawHttp.Header(header, name)], Cancellation));
            AssertResolvedOrRefused(Channel.Header, name, byHeader);

            Answer byHost = await SendAsync(admin, tallies[Channel.Host], () =>
            {
                var request = new HttpRequestMessage(HttpMethod.Get, "/tenant");
                request.Headers.Host = $"{name}.localhost";
                return request;
            }, () => RawHttp.GetAsync(server, "/tenant"u8.ToArray(), [authorization, RawHttp.Header("Host", $"{name}.localhost")], Cancellation));
            AssertResolvedOrRefused(Channel.Host, name, byHost);

            Answer byRoute = await SendAsync(admin, tallies[Channel.Route],
                () => new HttpRequestMessage(HttpMethod.Get, $"/t/{Uri.EscapeDataString(name)}/tenant"),
                () => RawHttp.GetAsync(server, Encoding.UTF8.GetBytes($"/t/{Uri.EscapeDataString(name)}/tenant"), [serverHost, authorization], Cancellation));
            AssertResolvedOrRefused(Channel.Route, name, byRoute);
        }

        // Malformed UTF-8 and stray escapes in the route, as bytes on the wire: none names acme, so none may reach it.
        foreach (byte[] raw in RawRoutes(random, 400))
        {
            string shown = Encoding.Latin1.GetString(raw);
            RawHttp.Response response = await RawHttp.GetAsync(server, [.. "/t/"u8, .. raw, .. "/tenant"u8], [serverHost, authorization], Cancellation);
            Answer answer = Count(tallies[Channel.RawRoute], AnswerOf(response), raw: true);
            AssertResolvedOrRefused(Channel.RawRoute, shown, answer, resolvable: false);
        }

        // Provisioning: every generated name the validator refuses is a 400 problem, and creates nothing.
        foreach (string name in Names(random, 400).Where(n => TenantNames.Problem(n, shared) is not null).Append(shared))
        {
            using HttpResponseMessage response = await admin.PostAsJsonAsync("/tenants", new CreateTenantRequest(name, "Fuzz"), Cancellation);
            Answer answer = Count(tallies[Channel.Provisioning], await AnswerAsync(response), raw: false);
            Assert.True(answer.Status == (int)HttpStatusCode.BadRequest, $"provisioning {Show(name)}: {answer.Status} {answer.Body}");
            AssertProblem(Channel.Provisioning, name, answer);
        }

        foreach ((Channel channel, Tally tally) in tallies)
        {
            Assert.True(tally.ByApp >= Floors[channel], $"{channel}: only {tally}; at least {Floors[channel]} must reach the app");
        }

        // The socket carried what the client refuses: NUL and CR/LF in headers, hosts that are no host names.
        Assert.True(tallies[Channel.Header].Raw > 0 && tallies[Channel.Host].Raw > 0, string.Join("; ", tallies.Select(t => $"{t.Key}: {t.Value}")));
        Assert.Equal(schemasBefore, await Api.SchemasAsync());
        Assert.Equal(["acme"], (await admin.GetFromJsonAsync<List<TenantResponse>>("/tenants", Cancellation))!.Select(t => t.Name));
    }

    /// <summary>Sends by the HttpClient, or over the raw socket when the client refuses to build or send the request.</summary>
    private static async Task<Answer> SendAsync(HttpClient client, Tally tally, Func<HttpRequestMessage?> build, Func<Task<RawHttp.Response>> raw)
    {
        HttpRequestMessage? request;
        try
        {
            request = build();
        }
        catch (FormatException)
        {
            request = null; // an invalid Host
        }

        if (request is not null)
        {
            using (request)
            {
                HttpResponseMessage? response = null;
                try
                {
                    response = await client.SendAsync(request, Cancellation);
                }
                catch (HttpRequestException e) when (e.HttpRequestError == HttpRequestError.Unknown && e.InnerException is null)
                {
                    // Refused by the client before sending (non-ASCII or a line break in a header): the raw socket sends it.
                }

                if (response is not null)
                {
                    using (response)
                    {
                        return Count(tally, await AnswerAsync(response), raw: false);
                    }
                }
            }
        }

        return Count(tally, AnswerOf(await raw()), raw: true);
    }

    private static Answer Count(Tally tally, Answer answer, bool raw)
    {
        tally.Sent++;
        tally.Raw += raw ? 1 : 0;
        tally.ByApp += answer.ByApp ? 1 : 0;
        return answer;
    }

    private static Answer AnswerOf(RawHttp.Response response) =>
        new(response.Status, response.MediaType, response.Body, response.Headers.ContainsKey(AnsweredByApp.ToLowerInvariant()));

    private static async Task<Answer> AnswerAsync(HttpResponseMessage response) => new(
        (int)response.StatusCode,
        response.Content.Headers.ContentType?.MediaType,
        await response.Content.ReadAsStringAsync(Cancellation),
        response.Headers.Contains(AnsweredByApp));

    /// <summary>
    /// The app answered with the tenant named (only a registered one, only when <paramref name="resolvable"/>) or a 4xx
    /// problem; or the server refused the bytes before the app saw them.
    /// </summary>
    private static void AssertResolvedOrRefused(Channel channel, string name, Answer answer, bool resolvable = true)
    {
        if (!answer.ByApp)
        {
            // Kestrel's own 400 to bytes HTTP/1.1 does not allow (a NUL or CR/LF in a header, an invalid host, a NUL in
            // the path): no body, problem or other, because the app never ran. It answers, though.
            Assert.True(answer.Status == 400 && answer.Body.Length == 0, $"{channel} {Show(name)}: the server answered {answer.Status} '{answer.Body}' without the app");
            return;
        }

        if (answer.Status == 200 && resolvable)
        {
            // Only a registered tenant resolves, and only the one named: in a header or the host, as HTTP reads a field
            // value (without the spaces around it; a raw CR/LF ends it).
            CurrentTenantResponse tenant = JsonSerializer.Deserialize<CurrentTenantResponse>(answer.Body, JsonSerializerOptions.Web)!;
            string named = channel is Channel.Header or Channel.Host ? name.Split('\r', '\n')[0].Trim(' ', '\t') : name;
            Assert.Equal(("acme", "acme"), (named, tenant.Name));
            return;
        }

        Assert.True(answer.Status is >= 400 and < 500, $"{channel} {Show(name)}: {answer.Status} {answer.Body}");
        AssertProblem(channel, name, answer);
    }

    /// <summary>An RFC 9457 problem: ours (<see cref="TenantProblems.TypePrefix"/>) or the framework's for the status.</summary>
    private static void AssertProblem(Channel channel, string name, Answer answer)
    {
        string context = $"{channel} {Show(name)}: {answer.Status} {answer.MediaType} '{answer.Body}'";
        Assert.True(answer.MediaType == "application/problem+json", context);
        JsonElement problem = JsonSerializer.Deserialize<JsonElement>(answer.Body);
        Assert.True(problem.TryGetProperty("status", out JsonElement status) && status.GetInt32() == answer.Status, context);
        Assert.True(problem.TryGetProperty("title", out JsonElement title) && !string.IsNullOrWhiteSpace(title.GetString()), context);
        string? type = problem.TryGetProperty("type", out JsonElement t) ? t.GetString() : null;
        Assert.True(
            type is not null && (type.StartsWith(TenantProblems.TypePrefix, StringComparison.Ordinal) || type.StartsWith("https://tools.ietf.org/html/rfc9110#section-15.5", StringComparison.Ordinal)),
            context);
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
        string[] fixedOnes = ["", " ", "acme ", " acme", "ACME", "Acme", "acme\u0000", "ac\u0000me", "acme\r\n", "ac\nme", "pg_catalog", "pg_temp_1", "public", "information_schema", "shared", "a", "_acme", "1acme", new string('a', 63), new string('a', 64), new string('a', 5000), "acme;drop schema acme", "acme\"", "ａｃｍｅ", "аcme", "acme.localhost"];
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

    /// <summary>Route segments as bytes, each with at least one malformed UTF-8 sequence or stray escape.</summary>
    private static IEnumerable<byte[]> RawRoutes(Random random, int count)
    {
        string[] fixedOnes = ["%C3%28", "%FF", "%ED%A0%80", "%00acme", "acme%00", "acme%0A", "acme%0D%0A", "%E2%82", "ac%me", "%2e%2e", "acme%2Fglobex", "%C0%AF", "%C1%A1cme", "%61%63%6D%65%FF"];
        string[] malformed = ["%C3%28", "%FF", "%FE", "%80", "%BF", "%ED%A0%80", "%ED%BF%BF", "%E2%82", "%F0%9F%98", "%C0%AF", "%C1%A1", "%E0%80%80", "%F4%90%80%80", "%", "%G1", "%0", "%%"];
        string[] tokens = ["a", "c", "m", "e", "acme", "%61", "%63%6D%65", "%00", "%0A", "%0D", "%09", "%20", "%2F", "%2f", "%2e", "%5C", "%3B", "%25", "_", "1", "%C3%A9", "%D0%B0", "%EF%BD%81"];
        foreach (string raw in fixedOnes)
        {
            yield return Encoding.ASCII.GetBytes(raw);
        }

        for (int i = 0; i < count - fixedOnes.Length; i++)
        {
            var segment = new List<byte>();
            int parts = random.Next(1, 8);
            int bad = random.Next(parts);
            for (int p = 0; p < parts; p++)
            {
                segment.AddRange(Encoding.ASCII.GetBytes(p == bad ? malformed[random.Next(malformed.Length)] : tokens[random.Next(tokens.Length)]));
            }

            // Now and then a byte no request target may hold, unescaped: the server's to refuse.
            if (random.Next(20) == 0)
            {
                byte[] forbidden = [0x00, 0x0B, 0x7F, 0x80, 0xC3, 0xFF];
                segment.Insert(random.Next(segment.Count + 1), forbidden[random.Next(forbidden.Length)]);
            }

            yield return [.. segment];
        }
    }

    private static string Show(string name) =>
        name.Length > 80 ? $"{Escape(name[..80])}... ({name.Length} chars)" : Escape(name);

    private static string Escape(string s) =>
        string.Concat(s.Select(c => char.IsControl(c) || char.IsSurrogate(c) ? $"\\u{(int)c:x4}" : c.ToString()));

    /// <summary>Marks each response the app's pipeline starts, before any of the app's middleware runs.</summary>
    private sealed class MarkAppAnswers : IStartupFilter
    {
        public Action<IApplicationBuilder> Configure(Action<IApplicationBuilder> next) => app =>
        {
            app.Use((context, nextMiddleware) =>
            {
                context.Response.OnStarting(() =>
                {
                    context.Response.Headers[AnsweredByApp] = "true";
                    return Task.CompletedTask;
                });
                return nextMiddleware(context);
            });
            next(app);
        };
    }
}
