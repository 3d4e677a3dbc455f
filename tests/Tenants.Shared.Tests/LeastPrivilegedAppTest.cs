using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Npgsql;
using Postgres.Testing;

namespace Tenants.Shared.Tests;

/// <summary>
/// A test database with the shipped least-privilege setup: the app logs in as a role of its own (not a superuser,
/// NOINHERIT, no TEMP), the owner (a role of its own too: owns the database, may create roles, not a superuser)
/// migrates and grants, and each tenant scope switches to the tenant's role. Roles are cluster-wide, so each test names
/// its own app and owner roles and tenant role prefix.
/// </summary>
public abstract class LeastPrivilegedAppTest(PostgresFixture postgres, params string[] tenants) : DatabaseTest(postgres)
{
    private TenancyHost? _app;

    protected string AppRole { get; } = AppLogins.NewRoleName("app");

    protected string OwnerRole { get; } = AppLogins.NewRoleName("own");

    protected string Prefix { get; } = $"t{Guid.NewGuid():N}"[..9] + "_";

    /// <summary>The owner's connections to the test's database.</summary>
    protected string OwnerConnectionString { get; private set; } = string.Empty;

    /// <summary>The app's connections to the test's database, as the app role.</summary>
    protected string AppConnectionString { get; private set; } = string.Empty;

    /// <summary>The app's host: its own login, tenant roles on, the test's tenants provisioned by the owner.</summary>
    protected TenancyHost App => _app ?? throw new InvalidOperationException("Not initialised.");

    public override async ValueTask InitializeAsync()
    {
        await base.InitializeAsync();
        await AppLogins.CreateAppRoleAsync(ConnectionString, AppRole, Cancellation);
        await AppLogins.CreateOwnerRoleAsync(ConnectionString, OwnerRole, Cancellation);
        OwnerConnectionString = await AppLogins.OwnDatabaseAsync(ConnectionString, OwnerRole, Cancellation);

        var app = new NpgsqlConnectionStringBuilder(ConnectionString) { Username = AppRole };
        ConfigureAppConnection(app);
        AppConnectionString = app.ConnectionString;
        _app = new TenancyHost(AppConnectionString, o =>
        {
            (o.TenantRoles, o.TenantRolePrefix) = (true, Prefix);
            ConfigureApp(o);
        }, services: Clock is { } clock ? s => s.AddSingleton<TimeProvider>(clock) : null, ownerConnectionString: OwnerConnectionString, contextPoolSize: ContextPoolSize);
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

    /// <summary>A fresh database set up as the test's own (owned by the owner role, no TEMP for PUBLIC); the owner's connection string to it.</summary>
    protected async Task<string> CreateOwnedDatabaseAsync() =>
        await AppLogins.OwnDatabaseAsync(await Postgres.Cluster.CreateDatabaseAsync(Cancellation), OwnerRole, Cancellation);

    /// <summary>The app's clock, when not the system's: with a <see cref="ManualClock"/>, dedicated pools change hands only when the test moves it.</summary>
    protected virtual TimeProvider? Clock => null;

    /// <summary>How many NotesContexts the app's pool keeps for reuse.</summary>
    protected virtual int ContextPoolSize => TenancyServiceCollectionExtensions.DefaultPoolSize;

    protected virtual void ConfigureAppConnection(NpgsqlConnectionStringBuilder connection)
    {
    }

    protected virtual void ConfigureApp(TenancyOptions options)
    {
    }

    /// <summary>Runs statements as the superuser in the test's database.</summary>
    protected async Task ExecuteAsSuperuserAsync(params string[] statements)
    {
        foreach (string sql in statements)
        {
            await using NpgsqlCommand command = Host.DataSource.Unrouted.CreateCommand(sql);
            await command.ExecuteNonQueryAsync(Cancellation);
        }
    }

    /// <summary>
    /// Queries in <paramref name="tenant"/>'s scope until it holds a dedicated pool. On a <see cref="ManualClock"/>,
    /// each query comes a whole window after the last, so it ends the window that counted the last; the clock stops
    /// at the last query, whose window then never ends.
    /// </summary>
    protected static Task PromoteAsync(TenancyHost host, string tenant)
    {
        ManualClock? clock = host.Services.GetService<TimeProvider>() as ManualClock;
        TimeSpan window = host.Services.GetRequiredService<IOptions<TenancyOptions>>().Value.DedicatedPools.Window;
        return Eventually.UntilAsync(
            async () =>
            {
                clock?.Advance(window);
                await using (await host.Tenants.EnterAsync(tenant, Cancellation))
                await using (AsyncServiceScope scope = host.CreateScope())
                {
                    await scope.ServiceProvider.GetRequiredService<NotesContext>().Notes.CountAsync(Cancellation);
                }

                return host.DataSource.Dedicated.Tenants.Contains(tenant);
            },
            $"{tenant} to get a dedicated pool",
            Cancellation);
    }

    /// <summary>The role and schemas a context's next query runs as and in.</summary>
    protected static async Task<(string User, string Path)> WhoAmIAsync(NotesContext db)
    {
        string[] row = await db.Database
            .SqlQueryRaw<string>("SELECT current_user || '|' || array_to_string(current_schemas(false), ',') AS \"Value\"")
            .ToArrayAsync(Cancellation);
        string[] parts = row.Single().Split('|');
        return (parts[0], parts[1]);
    }
}
