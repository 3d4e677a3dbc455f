using Xunit;

namespace Postgres.Testing;

/// <summary>
/// One throwaway Citus cluster for a test class (<c>IClassFixture&lt;CitusFixture&gt;</c>); each test then takes a
/// database of its own on it (<see cref="CitusCluster.CreateDatabaseAsync"/>).
/// </summary>
public sealed class CitusFixture : IAsyncLifetime
{
    private CitusCluster? _cluster;

    public CitusCluster Cluster => _cluster ?? throw new InvalidOperationException("The Citus cluster has not started.");

    public async ValueTask InitializeAsync() => _cluster = await CitusCluster.StartAsync();

    public async ValueTask DisposeAsync()
    {
        if (_cluster is not null)
        {
            await _cluster.DisposeAsync();
        }
    }
}
