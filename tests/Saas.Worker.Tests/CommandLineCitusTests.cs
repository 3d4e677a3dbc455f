using System.Text.Json;
using Npgsql;
using static Saas.Worker.Tests.WorkerCommandLine;

namespace Saas.Worker.Tests;

/// <summary>
/// The operators' command line on a real Citus cluster (a coordinator and two workers on loopback, schema-based
/// sharding on): each tenant's node in <c>list</c> and <c>status</c>, and <c>move</c> to the other worker.
/// </summary>
public sealed class CommandLineCitusTests(CitusFixture citus) : IClassFixture<CitusFixture>
{
    private static CancellationToken Cancellation => TestContext.Current.CancellationToken;

    [Fact]
    public async Task List_and_status_show_each_tenants_node_and_move_puts_a_tenant_on_the_other_worker()
    {
        string database = await citus.Cluster.CreateDatabaseAsync(Cancellation);
        await ExecuteAsync(database, $"ALTER DATABASE {new NpgsqlConnectionStringBuilder(database).Database} SET citus.enable_schema_based_sharding = on");
        string[] tenants = ["node_a", "node_b", "node_c", "node_d"];
        foreach (string tenant in tenants)
        {
            Run add = await RunAsync(database, ["tenants", "add", tenant]);
            Assert.True(add.Exit == 0, add.Error);
        }

        string[] workers = [.. citus.Cluster.Workers.Select(w => $"127.0.0.1:{CitusCluster.PortOf(w)}")];
        Dictionary<string, string> nodes = await NodesAsync(database);
        Assert.Equal(tenants, nodes.Keys.Order(StringComparer.Ordinal));
        Assert.All(nodes.Values, node => Assert.Contains(node, workers));

        string from = nodes["node_a"];
        string to = workers.Single(w => w != from);
        Run move = await RunAsync(database, ["tenants", "move", "node_a", "--to", to]);
        Assert.True(move.Exit == 0, move.Error);
        Assert.StartsWith($"node_a moved from {from} to {to} in ", move.Output.Trim(), StringComparison.Ordinal);
        Assert.Equal(to, (await NodesAsync(database))["node_a"]);

        Run status = await RunAsync(database, ["tenants", "status", "--json"]);
        using (var json = JsonDocument.Parse(status.Output))
        {
            Dictionary<string, int> byNode = json.RootElement.GetProperty("nodes").EnumerateObject().ToDictionary(n => n.Name, n => n.Value.GetInt32());
            Assert.Equal(tenants.Length, byNode.Values.Sum());
            Assert.Equal((await NodesAsync(database)).Values.Count(n => n == to), byNode[to]);

            // Each tenant's queries so far (its migration's), from citus_stat_tenants.
            JsonElement[] activity = [.. json.RootElement.GetProperty("activity").EnumerateArray()];
            Assert.Equal(tenants, activity.Select(a => a.GetProperty("tenant").GetString()).Order(StringComparer.Ordinal));
            Assert.All(activity, a => Assert.True(a.GetProperty("queries").GetInt32() + a.GetProperty("queriesLastPeriod").GetInt32() > 0));
        }

        Run again = await RunAsync(database, ["tenants", "move", "node_a", "--to", to]);
        Assert.Equal((0, $"node_a is already on {to}: nothing changed"), (again.Exit, again.Output.Trim()));

        Run nowhere = await RunAsync(database, ["tenants", "move", "node_a", "--to", "127.0.0.1:1"]);
        Assert.Equal(1, nowhere.Exit);
        Assert.Contains(to, Assert.Single(nowhere.ErrorLines), StringComparison.Ordinal);
        Assert.Equal(to, (await NodesAsync(database))["node_a"]);
    }

    /// <summary>Each tenant's node, as <c>tenants list --json</c> shows it.</summary>
    private static async Task<Dictionary<string, string>> NodesAsync(string database)
    {
        Run list = await RunAsync(database, ["tenants", "list", "--json"]);
        Assert.True(list.Exit == 0, list.Error);
        using var json = JsonDocument.Parse(list.Output);
        return json.RootElement.EnumerateArray().ToDictionary(t => t.GetProperty("name").GetString()!, t => t.GetProperty("node").GetString()!, StringComparer.Ordinal);
    }

    private static async Task ExecuteAsync(string database, string sql)
    {
        await using var connection = new NpgsqlConnection(database);
        await connection.OpenAsync(Cancellation);
        await using var command = new NpgsqlCommand(sql, connection);
        await command.ExecuteNonQueryAsync(Cancellation);
    }
}
