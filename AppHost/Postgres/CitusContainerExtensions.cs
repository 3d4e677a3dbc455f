using System.Globalization;

namespace Aspire.Hosting;

/// <summary>A Citus cluster in containers, for machines without Citus installed where a container engine answers.</summary>
public static class CitusContainerExtensions
{
    /// <summary>The image's Citus release: the one the tests run on, installed from packages.</summary>
    public const string Image = "citusdata/citus";

    public const string Tag = "13.2";

    private const int Port = 5432;

    /// <summary>
    /// A coordinator, returned as the server the app connects to, and <paramref name="workers"/> workers
    /// (<c>{name}-worker-N</c>) reachable only on the containers' network, each node's data in a volume. The
    /// coordinator's first start (its init files) registers the workers and turns on schema-based sharding for
    /// <paramref name="databaseName"/>, which every node creates with the extension in it.
    /// </summary>
    public static IResourceBuilder<PostgresServerResource> AddCitusContainers(
        this IDistributedApplicationBuilder builder, string name, string databaseName, int workers)
    {
        IResourceBuilder<PostgresServerResource> coordinator = builder.AddPostgres(name).WithImage(Image, Tag);
        var hosts = new List<string>();
        for (int i = 1; i <= workers; i++)
        {
            string workerName = $"{name}-worker-{i.ToString(CultureInfo.InvariantCulture)}";
            IResourceBuilder<ContainerResource> worker = WithCitusNode(builder.AddContainer(workerName, Image, Tag), databaseName)
                .WithEnvironment("POSTGRES_PASSWORD", coordinator.Resource.PasswordParameter);
            worker.WithVolume(VolumeNameGenerator.Generate(worker, "data"), "/var/lib/postgresql/data");
            coordinator.WaitFor(worker);
            hosts.Add($"{workerName}:{Port.ToString(CultureInfo.InvariantCulture)}"); // a container's resource name is its host name on that network
        }

        return WithCitusNode(coordinator, databaseName)
            .WithEnvironment("CITUS_COORDINATOR", $"{name}:{Port.ToString(CultureInfo.InvariantCulture)}")
            .WithEnvironment("CITUS_WORKER_HOSTS", string.Join(' ', hosts));
    }

    /// <summary>What every node of the cluster shares.</summary>
    private static IResourceBuilder<T> WithCitusNode<T>(IResourceBuilder<T> node, string databaseName)
        where T : ContainerResource =>
        node
            // The image's first start creates this database with the extension in it.
            .WithEnvironment("POSTGRES_DB", databaseName)
            // The nodes connect to each other as the role a query runs as, tenant roles included, which have no
            // password: the cluster trusts connections from its network, as Citus's own compose file does (the host
            // reaches the coordinator through a port Aspire publishes on loopback only).
            .WithEnvironment("POSTGRES_HOST_AUTH_METHOD", "trust")
            .WithArgs("-c", "citus.stat_tenants_track=all"); // per-tenant statistics, for 'tenants status'
}
