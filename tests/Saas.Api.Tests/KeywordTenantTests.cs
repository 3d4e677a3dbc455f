using System.Net;
using System.Net.Http.Json;
using Npgsql;
using Saas.Api.Model;
using Saas.Data;
using Tenants.Shared;
using Tenants.Shared.Migrations;

namespace Saas.Api.Tests;

/// <summary>
/// Valid tenant names that are SQL keywords, so that every statement that names a tenant's schema or role must quote
/// it: provisioning, requests, a second migration pass, deactivation, and deletion (archived and dropped).
/// </summary>
public sealed class KeywordTenantTests(PostgresFixture postgres) : ApiTest(postgres)
{
    private static readonly string[] Keywords = ["user", "select", "order", "group"];

    // Roles are cluster-wide and test databases share a cluster: a prefix of its own keeps this test's roles apart.
    private readonly string _rolePrefix = $"k{Guid.NewGuid():N}"[..12] + "_";

    protected override IEnumerable<KeyValuePair<string, string?>> Settings => [new("Tenancy:TenantRolePrefix", _rolePrefix)];

    [Fact]
    public async Task Sql_keywords_are_tenants_like_any_other_from_provisioning_to_deletion()
    {
        await Api.ProvisionAsync(Keywords);
        foreach (string tenant in Keywords)
        {
            using HttpClient member = Api.Client(Api.Tokens.Member(tenant));
            CurrentTenantResponse session = (await member.GetFromJsonAsync<CurrentTenantResponse>("/tenant", Cancellation))!;
            Assert.Equal((tenant, _rolePrefix + tenant), (session.Schema, session.Role));
#if (includeSample)
            using HttpResponseMessage written = await member.PostAsJsonAsync("/articles", new ArticleRequest($"{tenant}'s", "quoted"), Cancellation);
            Assert.Equal(HttpStatusCode.Created, written.StatusCode);
            PagedResult<ArticleResponse> page = (await member.GetFromJsonAsync<PagedResult<ArticleResponse>>("/articles", Cancellation))!;
            Assert.Equal([$"{tenant}'s"], page.Items.Select(a => a.Title));
            Assert.Equal(1, await Api.CountArticlesAsync(tenant));
#endif
        }

        // The runner migrates them again (an operator's explicit pass), in the same schemas.
        MigrationRunReport report = await Api.Service<TenantMigrationRunner<AppDbContext>>().RunAsync(only: Keywords, cancellationToken: Cancellation);
        Assert.All(report.Outcomes, o => Assert.True(o.Succeeded, $"{o.Tenant}: {o.Error}"));
        Assert.Equal(Keywords.Order(), report.Outcomes.Select(o => o.Tenant).Order());

        using HttpClient admin = Api.Client(Api.Tokens.Admin());
        foreach (string tenant in Keywords)
        {
            Assert.Equal(HttpStatusCode.OK, (await admin.PostAsync($"/tenants/{tenant}/deactivate", null, Cancellation)).StatusCode);
            using HttpClient member = Api.Client(Api.Tokens.Member(tenant));
            await AssertProblemAsync(await member.GetAsync("/tenant", Cancellation), 410, "tenant-deactivated");
        }

        // "user" and "select" archived, "order" and "group" dropped with their names released; then "group" again.
        TenantDeletionResponse archived = await DeleteAsync(admin, "user", string.Empty);
        Assert.Contains(Assert.IsType<string>(archived.ArchivedAs), await Api.SchemasAsync());
        await DeleteAsync(admin, "select", string.Empty);
        await DeleteAsync(admin, "order", "?schema=drop&releaseName=true");
        await DeleteAsync(admin, "group", "?schema=drop&releaseName=true");
        Assert.DoesNotContain(await Api.SchemasAsync(), s => Keywords.Contains(s));
        Assert.Empty(await TenantRolesAsync());

        await Api.ProvisionAsync("group");
        Assert.Contains("group", await Api.SchemasAsync());
    }

    private static async Task<TenantDeletionResponse> DeleteAsync(HttpClient admin, string tenant, string query)
    {
        using HttpResponseMessage response = await admin.DeleteAsync($"/tenants/{tenant}{query}", Cancellation);
        Assert.True(response.StatusCode == HttpStatusCode.OK, await response.Content.ReadAsStringAsync(Cancellation));
        return (await response.Content.ReadFromJsonAsync<TenantDeletionResponse>(Cancellation))!;
    }

    /// <summary>Roles of the keyword tenants that still exist.</summary>
    private async Task<List<string>> TenantRolesAsync()
    {
        await using var connection = new NpgsqlConnection(Api.ConnectionString);
        await connection.OpenAsync(Cancellation);
        await using var command = new NpgsqlCommand("SELECT rolname FROM pg_roles WHERE rolname = ANY($1)", connection);
        command.Parameters.Add(new NpgsqlParameter { Value = Keywords.Select(k => _rolePrefix + k).ToArray() });
        await using NpgsqlDataReader reader = await command.ExecuteReaderAsync(Cancellation);
        var roles = new List<string>();
        while (await reader.ReadAsync(Cancellation))
        {
            roles.Add(reader.GetString(0));
        }

        return roles;
    }
}
