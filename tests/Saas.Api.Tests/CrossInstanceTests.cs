using System.Net;
using System.Net.Http.Json;
using Npgsql;
using Saas.Api.Model;
using Tenants.Shared;

namespace Saas.Api.Tests;

/// <summary>
/// Two Api instances over one database, the second with a tenant cache that outlives the test: a tenant another
/// instance deactivates stops being served by this one at once (the catalog's announcement, not the cache's expiry),
/// and a tenant whose announcement this instance missed answers as resolution would answer now, never with a 500.
/// </summary>
public sealed class CrossInstanceTests(PostgresFixture postgres) : ApiTest(postgres)
{
    private ApiFactory? _other;

    private ApiFactory Other => _other!;

    public override async ValueTask InitializeAsync()
    {
        await base.InitializeAsync();
        _other = new ApiFactory(Api.ConnectionString, [new("Tenancy:RegistryCacheDuration", "01:00:00")], startWorker: false);
    }

    public override async ValueTask DisposeAsync()
    {
        if (_other is not null)
        {
            await _other.DisposeAsync();
        }

        await base.DisposeAsync();
    }

    [Fact]
    public async Task A_tenant_deactivated_through_one_instance_stops_being_served_by_the_other_at_once()
    {
        await Api.ProvisionAsync("elsewhere");
        using HttpClient member = Other.Client(Other.Tokens.Member("elsewhere"));
        Assert.Equal(HttpStatusCode.OK, (await member.GetAsync("/tenant", Cancellation)).StatusCode); // cached there for an hour

        using HttpClient admin = Api.Client(Api.Tokens.Admin());
        Assert.Equal(HttpStatusCode.OK, (await admin.PostAsync("/tenants/elsewhere/deactivate", null, Cancellation)).StatusCode);
        await Eventually.UntilAsync(async () => (await member.GetAsync("/tenant", Cancellation)).StatusCode == HttpStatusCode.Gone, "the other instance to stop serving the tenant", Cancellation);
        await AssertProblemAsync(await member.GetAsync("/tenant", Cancellation), 410, "tenant-deactivated");
    }
#if (includeSample)

    [Fact]
    public async Task A_request_for_a_tenant_deleted_while_this_instance_still_served_it_gets_410_never_500()
    {
        await Api.ProvisionAsync("vanishing");
        using HttpClient member = Other.Client(Other.Tokens.Member("vanishing"));
        Assert.Equal(HttpStatusCode.OK, (await member.GetAsync("/articles", Cancellation)).StatusCode); // cached there for an hour

        // Deleted with its announcement lost (replica mode runs no trigger): the other instance still serves it.
        await using (var connection = new NpgsqlConnection(Api.ConnectionString))
        {
            await connection.OpenAsync(Cancellation);
            string catalog = $"{PgIdentifier.Quote(ApiSettings.SharedSchema)}.tenants";
            await using var delete = new NpgsqlCommand(
                $"SET session_replication_role = replica; UPDATE {catalog} SET status = 'deleted' WHERE name = 'vanishing'; DROP SCHEMA vanishing CASCADE",
                connection);
            await delete.ExecuteNonQueryAsync(Cancellation);
        }

        await AssertProblemAsync(await member.GetAsync("/articles", Cancellation), 410, "tenant-deleted");
        await AssertProblemAsync(await member.PostAsJsonAsync("/articles", new ArticleRequest("too late", "gone"), Cancellation), 410, "tenant-deleted");
    }
#endif
}
