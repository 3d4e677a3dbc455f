using Microsoft.Extensions.Options;
using Npgsql;

namespace Tenants.Shared;

/// <summary>
/// Connections as the role that owns the schemas, for the few jobs that need it: creating the catalog, migrating
/// tenants and granting the app role what it may use. Request-time tenant data never comes from here:
/// it comes from <see cref="TenantDataSource"/>, whose role may be a least-privileged one.
/// </summary>
public sealed class OwnerDataSource : IAsyncDisposable, IDisposable
{
    /// <param name="ownerConnectionString">The owner's login; null when the app's own connection serves as the owner's.</param>
    /// <param name="appConnectionString">The app's login.</param>
    /// <param name="options">The tenancy settings.</param>
    public OwnerDataSource(string? ownerConnectionString, string appConnectionString, IOptions<TenancyOptions> options)
    {
        ArgumentNullException.ThrowIfNull(options);
        Given = ownerConnectionString is not null;
        // The migrator sets a session search_path, which the pool reset must undo like any other.
        NpgsqlDataSourceBuilder builder = ResettingDataSource.Builder(ownerConnectionString ?? appConnectionString, options.Value.SharedSchema, "owner connection string");
        Source = builder.Build();

        // Grants are only needed when the app logs in as a role of its own.
        string? appRole = new NpgsqlConnectionStringBuilder(appConnectionString).Username;
        string? ownerRole = builder.ConnectionStringBuilder.Username;
        AppRole = string.IsNullOrEmpty(appRole) || string.Equals(appRole, ownerRole, StringComparison.Ordinal) ? null : appRole;
    }

    /// <summary>
    /// Whether this process was given an owner's login of its own (the Worker). Without one, the app's login stands in:
    /// the Api uses the catalog the Worker created, and a single-role setup (development, tests) creates it itself.
    /// </summary>
    public bool Given { get; }

    /// <summary>The owner's connections; their search_path starts as the shared schema alone.</summary>
    public NpgsqlDataSource Source { get; }

    /// <summary>The app's own login role, which the owner grants privileges to; null when the app logs in as the owner.</summary>
    public string? AppRole { get; }

    public ValueTask DisposeAsync() => Source.DisposeAsync();

    public void Dispose() => Source.Dispose();
}
