using Xunit;

namespace Postgres.Testing;

/// <summary>
/// One throwaway PostgreSQL cluster per test assembly. A test project opts in with
/// <c>[assembly: AssemblyFixture(typeof(PostgresFixture))]</c>; each test then takes a database of its own.
/// </summary>
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
