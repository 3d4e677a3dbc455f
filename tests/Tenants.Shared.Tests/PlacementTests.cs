using Microsoft.Extensions.DependencyInjection;
using Tenants.Shared.Placement;

namespace Tenants.Shared.Tests;

/// <summary>Tenant placement on one PostgreSQL server, without Citus: nothing is placed, and nothing moves.</summary>
public sealed class PlacementTests(PostgresFixture postgres) : DatabaseTest(postgres)
{
    private TenantPlacement Placement => Host.Services.GetRequiredService<TenantPlacement>();

    [Fact]
    public async Task On_one_server_no_tenant_has_a_node_there_is_no_cluster_and_a_move_is_refused_naming_citus()
    {
        await Host.ProvisionWithANoteAsync("solo");

        Assert.Empty(await Placement.NodesAsync(Cancellation));
        Assert.Null(await Placement.ClusterAsync(Cancellation));
        InvalidOperationException refused = await Assert.ThrowsAsync<InvalidOperationException>(() => Placement.MoveAsync("solo", new TenantNode("localhost", 5432), Cancellation));
        Assert.Contains("no Citus", refused.Message, StringComparison.Ordinal);
        Assert.Equal((1, 0), await Host.CountRowsAsync("solo"));
    }

    [Theory]
    [InlineData("10.0.0.12:5432", "10.0.0.12", 5432)]
    [InlineData("worker-1.internal:6432", "worker-1.internal", 6432)]
    [InlineData("::1:5432", "::1", 5432)]
    public void A_node_reads_as_host_and_port(string text, string host, int port) => Assert.Equal(new TenantNode(host, port), TenantNode.Parse(text));

    [Theory]
    [InlineData("somewhere")]
    [InlineData(":5432")]
    [InlineData("host:")]
    [InlineData("host:0")]
    [InlineData("host:65536")]
    [InlineData("host:-1")]
    [InlineData("host: 5432")]
    public void Anything_else_is_not_a_node(string text) => Assert.Null(TenantNode.Parse(text));
}
