using System.Diagnostics;
using Aspire.Hosting;
using Aspire.Hosting.ApplicationModel;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;
using Postgres.Testing;

namespace Saas.AppHost.Tests;

/// <summary>
/// <c>Postgres:Mode=citus</c> in containers (<c>Postgres:CitusFrom=container</c>): the app model the AppHost builds, and
/// the coordinator's first start (its init files) run against a real Citus cluster, as the image's entrypoint runs them.
/// No container engine answers here, so the containers themselves do not start.
/// </summary>
public sealed class CitusContainerTests(CitusFixture citus) : IClassFixture<CitusFixture>
{
    private static readonly string[] Workers = ["citus-worker-1", "citus-worker-2", "citus-worker-3"];

    private static CancellationToken Cancellation => TestContext.Current.CancellationToken;

    [Fact]
    public async Task The_coordinator_waits_for_its_workers_knows_them_by_name_and_is_what_the_services_connect_to()
    {
        IDistributedApplicationTestingBuilder builder = await DistributedApplicationTestingBuilder.CreateAsync<Projects.Saas_AppHost>(
            ["--Postgres:Mode=citus", "--Postgres:CitusFrom=container", "--Postgres:CitusWorkers=3"],
            Cancellation);
        await using DistributedApplication app = await builder.BuildAsync(Cancellation);
        DistributedApplicationModel model = app.Services.GetRequiredService<DistributedApplicationModel>();

        PostgresServerResource coordinator = Assert.Single(model.Resources.OfType<PostgresServerResource>());
        Assert.Equal("citus", coordinator.Name);
        ContainerResource[] workers = [.. model.Resources.OfType<ContainerResource>().Where(r => r.Name.StartsWith("citus-worker-", StringComparison.Ordinal)).OrderBy(r => r.Name, StringComparer.Ordinal)];
        Assert.Equal(Workers, workers.Select(w => w.Name));
        foreach (ContainerResource node in (ContainerResource[])[coordinator, .. workers])
        {
            ContainerImageAnnotation image = node.Annotations.OfType<ContainerImageAnnotation>().Last();
            Assert.Equal(("citusdata/citus", "13.2"), (image.Image, image.Tag));
            Assert.Contains(node.Annotations.OfType<ContainerMountAnnotation>(), m => m.Type == ContainerMountType.Volume && m.Target == "/var/lib/postgresql/data");
        }

        Assert.Equal(Workers, coordinator.Annotations.OfType<WaitAnnotation>().Select(w => w.Resource.Name).Order(StringComparer.Ordinal));
        Assert.All(workers, w => Assert.Empty(w.Annotations.OfType<EndpointAnnotation>())); // on the containers' network only

        Dictionary<string, string> first = await EnvironmentAsync(app, coordinator);
        Assert.Equal("citus:5432", first["CITUS_COORDINATOR"]);
        Assert.Equal("citus-worker-1:5432 citus-worker-2:5432 citus-worker-3:5432", first["CITUS_WORKER_HOSTS"]);
        foreach (ContainerResource node in (ContainerResource[])[coordinator, .. workers])
        {
            Dictionary<string, string> environment = await EnvironmentAsync(app, node);
            Assert.Equal("appdb", environment["POSTGRES_DB"]);
            Assert.Equal("trust", environment["POSTGRES_HOST_AUTH_METHOD"]);
            Assert.Equal(first["POSTGRES_PASSWORD"], environment["POSTGRES_PASSWORD"]);
            Assert.Equal(["-c", "citus.stat_tenants_track=all"], await ArgumentsAsync(app, node));
        }

        // Both of the services' connections go to the coordinator.
        foreach (string name in (string[])["appdb", "appdb-owner"])
        {
            ConnectionStringResource connection = Assert.Single(model.Resources.OfType<ConnectionStringResource>(), r => r.Name == name);
            EndpointReferenceExpression[] endpoints = [.. connection.ConnectionStringExpression.ValueProviders.OfType<EndpointReferenceExpression>()];
            Assert.NotEmpty(endpoints);
            Assert.All(endpoints, e => Assert.Same(coordinator, e.Endpoint.Resource));
        }
    }

    [Fact]
    public async Task The_coordinators_first_start_registers_the_workers_turns_sharding_on_and_makes_the_roles_on_every_node()
    {
        string database = $"appdb_{Guid.NewGuid():N}";
        string appRole = $"app_{Guid.NewGuid():N}"[..20];
        string ownerRole = $"owner_{Guid.NewGuid():N}"[..20];
        string[] nodes = await citus.Cluster.CreateOnEveryNodeAsync(database, Cancellation);
        string coordinator = $"127.0.0.1:{CitusCluster.PortOf(citus.Cluster.Coordinator)}";
        string[] workers = [.. citus.Cluster.Workers.Select(w => $"127.0.0.1:{CitusCluster.PortOf(w)}")];

        // Twice: the local cluster runs the same registration at every start, and a second run changes nothing.
        for (int run = 0; run < 2; run++)
        {
            await RunFirstStartAsync(new Dictionary<string, string>
            {
                ["APP_DATABASE"] = database,
                ["APP_ROLE"] = appRole,
                ["APP_PASSWORD"] = "app-secret",
                ["OWNER_ROLE"] = ownerRole,
                ["OWNER_PASSWORD"] = "owner-secret",
                ["CITUS_COORDINATOR"] = coordinator,
                ["CITUS_WORKER_HOSTS"] = string.Join(' ', workers),
            });
        }

        string[] registered = await ColumnAsync(nodes[0], "SELECT nodename || ':' || nodeport FROM pg_dist_node ORDER BY groupid");
        Assert.Equal([coordinator, .. workers], registered); // the coordinator first: group 0
        foreach (string node in nodes)
        {
            string[] roles = await ColumnAsync(node, "SELECT rolname FROM pg_roles WHERE rolname IN ($1, $2) ORDER BY rolname", appRole, ownerRole);
            Assert.Equal([appRole, ownerRole], roles);
        }

        string[] privileges = await ColumnAsync(
            nodes[0],
            "SELECT pg_has_role($1, 'pg_monitor', 'MEMBER')::text || ' ' || has_database_privilege($2, current_database(), 'TEMPORARY')::text",
            ownerRole,
            appRole);
        Assert.Equal("true false", Assert.Single(privileges)); // the owner reads tenant activity; the app role makes no temporary table

        // A schema the owner makes now is distributed: placed on one of the workers.
        string asOwner = new NpgsqlConnectionStringBuilder(nodes[0]) { Username = ownerRole, Password = "owner-secret", Pooling = false }.ConnectionString;
        await ColumnAsync(asOwner, "CREATE SCHEMA initech; CREATE TABLE initech.notes (id int PRIMARY KEY); SELECT 'made'");
        string[] placement = await ColumnAsync(nodes[0], """
            SELECT DISTINCT n.nodename || ':' || n.nodeport
            FROM pg_dist_schema s
            JOIN pg_dist_partition p ON p.colocationid = s.colocationid
            JOIN pg_dist_shard sh ON sh.logicalrelid = p.logicalrelid
            JOIN pg_dist_placement pl ON pl.shardid = sh.shardid
            JOIN pg_dist_node n ON n.groupid = pl.groupid
            WHERE s.schemaid = 'initech'::regnamespace
            """);
        Assert.Contains(Assert.Single(placement), workers);
    }

    /// <summary>The coordinator's init script as the image's entrypoint runs it, its psql reaching the coordinator.</summary>
    private async Task RunFirstStartAsync(Dictionary<string, string> environment)
    {
        string init = Path.Combine(AppContext.BaseDirectory, "Postgres", "init");
        var start = new ProcessStartInfo("bash", [Path.Combine(init, "10-app-database.sh")])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        foreach ((string key, string value) in environment)
        {
            start.Environment[key] = value;
        }

        var coordinator = new NpgsqlConnectionStringBuilder(citus.Cluster.Coordinator.AdminConnectionString);
        start.Environment["INIT_DIR"] = init;
        start.Environment["POSTGRES_USER"] = "postgres";
        start.Environment["PGHOST"] = coordinator.Host;
        start.Environment["PGPORT"] = coordinator.Port.ToString(System.Globalization.CultureInfo.InvariantCulture);

        using Process process = Process.Start(start)!;
        Task<string> output = process.StandardOutput.ReadToEndAsync(Cancellation);
        Task<string> errors = process.StandardError.ReadToEndAsync(Cancellation);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(Cancellation);
        timeout.CancelAfter(Eventually.Ceiling);
        await process.WaitForExitAsync(timeout.Token);
        Assert.True(process.ExitCode == 0, $"exit {process.ExitCode}: {await output}{await errors}");
    }

    private static async Task<string[]> ColumnAsync(string connectionString, string sql, params string[] parameters) =>
        [.. await Sql.ColumnAsync<string>(connectionString, sql, Cancellation, parameters)];

    private static async Task<Dictionary<string, string>> EnvironmentAsync(DistributedApplication app, IResource resource) =>
        (await ConfigurationAsync(app, resource, b => b.WithEnvironmentVariablesConfig())).EnvironmentVariables.ToDictionary(pair => pair.Key, pair => pair.Value);

    private static async Task<string[]> ArgumentsAsync(DistributedApplication app, IResource resource) =>
        [.. (await ConfigurationAsync(app, resource, b => b.WithArgumentsConfig())).Arguments.Select(a => a.Value)];

    private static Task<IExecutionConfigurationResult> ConfigurationAsync(DistributedApplication app, IResource resource, Func<IExecutionConfigurationBuilder, IExecutionConfigurationBuilder> configure) =>
        configure(ExecutionConfigurationBuilder.Create(resource))
            .BuildAsync(app.Services.GetRequiredService<DistributedApplicationExecutionContext>(), NullLogger.Instance, Cancellation);
}
