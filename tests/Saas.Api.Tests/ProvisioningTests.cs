using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.Extensions.Options;
using Saas.Api.Model;
using Tenants.Shared;

namespace Saas.Api.Tests;

public sealed class ProvisioningTests(PostgresFixture postgres) : ApiTest(postgres)
{
    [Fact]
    public async Task Create_then_usable_then_listed_and_a_repeat_is_idempotent()
    {
        using HttpClient admin = Api.Client(Api.Tokens.Admin());
        using HttpResponseMessage created = await admin.PostAsJsonAsync("/tenants", new CreateTenantRequest("umbrella", "Umbrella Corp"), Cancellation);
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        Assert.Equal("/tenants/umbrella", created.Headers.Location?.OriginalString);
        TenantResponse tenant = (await created.Content.ReadFromJsonAsync<TenantResponse>(Cancellation))!;
        Assert.Equal(("umbrella", "Umbrella Corp", "ready"), (tenant.Name, tenant.DisplayName, tenant.State));
#if (includeSample)
        Assert.NotNull(tenant.LastMigration); // without the sample there is no migration yet
#endif

        // Usable at once by its members.
        using HttpClient member = Api.Client(Api.Tokens.Member("umbrella"));
        Assert.Equal("umbrella", (await member.GetFromJsonAsync<CurrentTenantResponse>("/tenant", Cancellation))!.Schema);
#if (includeSample)
        Assert.Equal(HttpStatusCode.Created, (await member.PostAsJsonAsync("/articles", new ArticleRequest("first", "post"), Cancellation)).StatusCode);
        Assert.Equal(1, await Api.CountArticlesAsync("umbrella"));
#endif

        TenantResponse shown = (await admin.GetFromJsonAsync<TenantResponse>("/tenants/umbrella", Cancellation))!;
        Assert.Equal("ready", shown.State);
        List<TenantResponse> all = (await admin.GetFromJsonAsync<List<TenantResponse>>("/tenants", Cancellation))!;
        Assert.Contains(all, t => t.Name == "umbrella");

        using HttpResponseMessage again = await admin.PostAsJsonAsync("/tenants", new CreateTenantRequest("umbrella", "Umbrella Corp"), Cancellation);
        Assert.Equal(HttpStatusCode.OK, again.StatusCode);
        Assert.Equal(tenant.RegisteredAt, (await again.Content.ReadFromJsonAsync<TenantResponse>(Cancellation))!.RegisteredAt);
#if (includeSample)
        Assert.Equal(1, await Api.CountArticlesAsync("umbrella")); // nothing re-created
#endif
    }

    [Fact]
    public async Task A_conflicting_create_is_409_and_changes_nothing()
    {
        using HttpClient admin = Api.Client(Api.Tokens.Admin());
        (await admin.PostAsJsonAsync("/tenants", new CreateTenantRequest("hooli", "Hooli"), Cancellation)).EnsureSuccessStatusCode();
        using HttpResponseMessage conflict = await admin.PostAsJsonAsync("/tenants", new CreateTenantRequest("hooli", "Hooli XYZ"), Cancellation);
        Assert.Equal(HttpStatusCode.Conflict, conflict.StatusCode);
        Assert.Equal("Hooli", (await admin.GetFromJsonAsync<TenantResponse>("/tenants/hooli", Cancellation))!.DisplayName);
    }

    [Fact]
    public async Task A_name_whose_schema_exists_but_is_no_tenants_is_409_and_the_schema_is_left_alone()
    {
        using HttpClient admin = Api.Client(Api.Tokens.Admin());
        await using var connection = new Npgsql.NpgsqlConnection(Api.ConnectionString);
        await connection.OpenAsync(Cancellation);
        await using (var audit = new Npgsql.NpgsqlCommand("CREATE SCHEMA audit; CREATE TABLE audit.trail (entry text); INSERT INTO audit.trail VALUES ('kept')", connection))
        {
            await audit.ExecuteNonQueryAsync(Cancellation);
        }

        JsonElement problem = await AssertProblemAsync(
            await admin.PostAsJsonAsync("/tenants", new CreateTenantRequest("audit", "Audit"), Cancellation), 409, "tenant-schema-taken");
        Assert.Contains("'audit'", problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.NotFound, (await admin.GetAsync("/tenants/audit", Cancellation)).StatusCode);

        // Not migrated into, granted to no one.
        await using var untouched = new Npgsql.NpgsqlCommand(
            "SELECT (SELECT string_agg(tablename, ',') FROM pg_tables WHERE schemaname = 'audit') || ' ' || (SELECT string_agg(entry, ',') FROM audit.trail) || ' ' || (SELECT count(*) FROM pg_namespace n, aclexplode(n.nspacl) WHERE n.nspname = 'audit')",
            connection);
        Assert.Equal("trail kept 0", await untouched.ExecuteScalarAsync(Cancellation));
    }

    [Theory]
    [InlineData("Evil")]
    [InlineData("evil\"; DROP SCHEMA shared CASCADE; --")]
    [InlineData("public")]
    [InlineData("pg_evil")]
    [InlineData("ｅvil")]
    [InlineData("")]
    [InlineData("eeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee")]
    public async Task Hostile_names_are_400_and_nothing_is_created(string name) => await RefusedAsync(name);

    [Fact]
    public async Task The_shared_schemas_name_is_refused_too() =>
        await RefusedAsync(Api.Service<IOptions<TenancyOptions>>().Value.SharedSchema);

    private async Task RefusedAsync(string name)
    {
        using HttpClient admin = Api.Client(Api.Tokens.Admin());
        (await admin.GetAsync("/tenants", Cancellation)).EnsureSuccessStatusCode(); // the catalog exists before counting
        HashSet<string> before = await Api.SchemasAsync();

        JsonElement problem = await AssertProblemAsync(await admin.PostAsJsonAsync("/tenants", new CreateTenantRequest(name, "Evil"), Cancellation), 400);
        Assert.True(problem.GetProperty("errors").TryGetProperty("name", out _));
        Assert.Equal(before, await Api.SchemasAsync());
        Assert.Empty((await admin.GetFromJsonAsync<List<TenantResponse>>("/tenants", Cancellation))!);
    }

    [Fact]
    public async Task A_display_name_is_required()
    {
        using HttpClient admin = Api.Client(Api.Tokens.Admin());
        JsonElement problem = await AssertProblemAsync(await admin.PostAsJsonAsync("/tenants", new CreateTenantRequest("nameless", " "), Cancellation), 400);
        Assert.True(problem.GetProperty("errors").TryGetProperty("displayName", out _));
    }

    [Fact]
    public async Task Provisioning_needs_the_admin_role()
    {
        using HttpClient member = Api.Client(Api.Tokens.Member("acme"));
        Assert.Equal(HttpStatusCode.Forbidden, (await member.PostAsJsonAsync("/tenants", new CreateTenantRequest("sneaky", "Sneaky"), Cancellation)).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await member.GetAsync("/tenants", Cancellation)).StatusCode);
        using HttpClient anonymous = Api.Client(null);
        Assert.Equal(HttpStatusCode.Unauthorized, (await anonymous.GetAsync("/tenants", Cancellation)).StatusCode);
        Assert.DoesNotContain("sneaky", await Api.SchemasAsync());
    }

    [Fact]
    public async Task Unknown_and_invalid_tenants_are_404_and_400()
    {
        using HttpClient admin = Api.Client(Api.Tokens.Admin());
        Assert.Equal(HttpStatusCode.NotFound, (await admin.GetAsync("/tenants/nobody", Cancellation)).StatusCode);
        await AssertProblemAsync(await admin.GetAsync("/tenants/No%20Body", Cancellation), 400);
    }
}
