using Postgres.Testing;

[assembly: AssemblyFixture(typeof(Saas.Worker.Tests.PostgresFixture))]

namespace Saas.Worker.Tests;

/// <summary>One throwaway PostgreSQL cluster for this test assembly; each test gets a database of its own.</summary>
public sealed class PostgresFixture : IAsyncLifetime
{
    private PostgresCluster? _cluster;

    public PostgresCluster Cluster => _cluster ?? throw new InvalidOperationException("The cluster has not started.");

    public async ValueTask InitializeAsync() => _cluster = await PostgresCluster.StartAsync();

    public async ValueTask DisposeAsync()
    {
        if (_cluster is not null)
        {
            await _cluster.DisposeAsync();
        }
    }
}
