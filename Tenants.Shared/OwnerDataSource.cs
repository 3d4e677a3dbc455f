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
    public OwnerDataSource(string ownerConnectionString, string appConnectionString, IOptions<TenancyOptions> options)
    {
        ArgumentNullException.ThrowIfNull(options);
        // The migrator sets a session search_path, which the pool reset must undo like any other.
        NpgsqlDataSourceBuilder builder = ResettingDataSource.Builder(ownerConnectionString, options.Value.SharedSchema, "owner connection string");
        Source = builder.Build();

        // Grants are only needed when the app logs in as a role of its own.
        string? appRole = new NpgsqlConnectionStringBuilder(appConnectionString).Username;
        string? ownerRole = builder.ConnectionStringBuilder.Username;
        AppRole = string.IsNullOrEmpty(appRole) || string.Equals(appRole, ownerRole, StringComparison.Ordinal) ? null : appRole;
    }

    /// <summary>The owner's connections; their search_path starts as the shared schema alone.</summary>
    public NpgsqlDataSource Source { get; }

    /// <summary>The app's own login role, which the owner grants privileges to; null when the app logs in as the owner.</summary>
    public string? AppRole { get; }

    public ValueTask DisposeAsync() => Source.DisposeAsync();

    public void Dispose() => Source.Dispose();
}
