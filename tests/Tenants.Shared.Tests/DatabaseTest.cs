namespace Tenants.Shared.Tests;

/// <summary>Gives each test a fresh database and a <see cref="TenancyHost"/> over it.</summary>
public abstract class DatabaseTest(PostgresFixture postgres) : IAsyncLifetime
{
    private TenancyHost? _host;

    protected PostgresFixture Postgres { get; } = postgres;

    protected TenancyHost Host => _host ?? throw new InvalidOperationException("Not initialised.");

    protected string ConnectionString { get; private set; } = string.Empty;

    protected static CancellationToken Cancellation => TestContext.Current.CancellationToken;

    public virtual async ValueTask InitializeAsync()
    {
        ConnectionString = await Postgres.Cluster.CreateDatabaseAsync(Cancellation);
        _host = new TenancyHost(ConnectionString, Configure);
    }

    /// <summary>Adjusts the tenancy options of <see cref="Host"/>; none by default.</summary>
    protected virtual void Configure(TenancyOptions options)
    {
    }

    public virtual async ValueTask DisposeAsync()
    {
        if (_host is not null)
        {
            await _host.DisposeAsync();
        }

        GC.SuppressFinalize(this);
    }
}
