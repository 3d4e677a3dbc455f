using Npgsql;

namespace Tenants.Shared.Tests;

/// <summary>
/// A test database with the shipped least-privilege setup: the app logs in as a role of its own (not a
/// superuser, NOINHERIT), the owner migrates and grants, and each tenant scope switches to the tenant's role. Roles are
/// cluster-wide, so each test names its own app role and tenant role prefix.
/// </summary>
public abstract class LeastPrivilegedAppTest(PostgresFixture postgres, params string[] tenants) : DatabaseTest(postgres)
{
    private TenancyHost? _app;

    protected string AppRole { get; } = $"app_{Guid.NewGuid():N}"[..16];

    protected string Prefix { get; } = $"t{Guid.NewGuid():N}"[..9] + "_";

    /// <summary>The app's host: its own login, tenant roles on, the test's tenants provisioned by the owner.</summary>
    protected TenancyHost App => _app ?? throw new InvalidOperationException("Not initialised.");

    public override async ValueTask InitializeAsync()
    {
        await base.InitializeAsync();
        await using (NpgsqlCommand create = Host.DataSource.Shared.CreateCommand($"CREATE ROLE {AppRole} LOGIN NOSUPERUSER NOINHERIT"))
        {
            await create.ExecuteNonQueryAsync(Cancellation);
        }

        var app = new NpgsqlConnectionStringBuilder(ConnectionString) { Username = AppRole };
        ConfigureAppConnection(app);
        _app = new TenancyHost(app.ConnectionString, o =>
        {
            (o.TenantRoles, o.TenantRolePrefix) = (true, Prefix);
            ConfigureApp(o);
        }, ownerConnectionString: ConnectionString);
        foreach (string tenant in tenants)
        {
            await App.ProvisionAsync(tenant);
        }
    }

    public override async ValueTask DisposeAsync()
    {
        if (_app is not null)
        {
            await _app.DisposeAsync();
        }

        await base.DisposeAsync();
        GC.SuppressFinalize(this);
    }

    protected virtual void ConfigureAppConnection(NpgsqlConnectionStringBuilder connection)
    {
    }

    protected virtual void ConfigureApp(TenancyOptions options)
    {
    }
}
