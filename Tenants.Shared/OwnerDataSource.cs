using Microsoft.Extensions.Options;
using Npgsql;

namespace Tenants.Shared;

/// <summary>
/// Connections as the role that owns the schemas, for the few jobs that need it: creating the catalog, migrating
/// tenants and granting the app role what it may use (DESIGN.md §8). Request-time tenant data never comes from here:
/// it comes from <see cref="TenantDataSource"/>, whose role may be a least-privileged one.
/// </summary>
public sealed class OwnerDataSource : IAsyncDisposable, IDisposable
{
    public OwnerDataSource(string ownerConnectionString, string appConnectionString, IOptions<TenancyOptions> options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var builder = new NpgsqlDataSourceBuilder(ownerConnectionString);
        if (builder.ConnectionStringBuilder.NoResetOnClose)
        {
            // The migrator sets a session search_path: without the pool reset it would reach the connection's next user.
            throw new NotSupportedException("'No Reset On Close=true' would leak a session's search_path to the next user; remove it from the owner connection string.");
        }

        builder.ConnectionStringBuilder.SearchPath = PgIdentifier.Quote(options.Value.SharedSchema);
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
