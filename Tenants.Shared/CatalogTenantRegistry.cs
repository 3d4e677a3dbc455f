using System.Collections.Concurrent;
using Microsoft.Extensions.Options;
using Npgsql;

namespace Tenants.Shared;

/// <summary>
/// <see cref="ITenantRegistry"/> over the catalog table in the shared schema. Positive look-ups are cached for
/// <see cref="TenancyOptions.RegistryCacheDuration"/>; a miss always asks the catalog, so a tenant registered by
/// another process is seen at once, without a restart.
/// </summary>
public sealed class CatalogTenantRegistry : ITenantRegistry, IDisposable
{
    private readonly NpgsqlDataSource _dataSource;
    private readonly TenancyOptions _options;
    private readonly CatalogSql _sql;
    private readonly ConcurrentDictionary<string, long> _knownUntil = new(StringComparer.Ordinal);
    private readonly SemaphoreSlim _bootstrapGate = new(1, 1);
    private volatile bool _bootstrapped;

    public CatalogTenantRegistry(TenantDataSource dataSource, IOptions<TenancyOptions> options)
    {
        _dataSource = dataSource.Shared;
        _options = options.Value;
        _sql = new CatalogSql(_options.SharedSchema);
    }

    public async Task<bool> RegisterAsync(string name, CancellationToken cancellationToken = default)
    {
        TenantNames.EnsureValid(name, _options.SharedSchema);
        await EnsureCatalogAsync(cancellationToken).ConfigureAwait(false);
        await using NpgsqlCommand command = _dataSource.CreateCommand(_sql.Register);
        command.Parameters.Add(new NpgsqlParameter { Value = name });
        bool added = await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false) == 1;
        Remember(name);
        return added;
    }

    public async Task<HashSet<string>> RegisteredTenantsAsync(CancellationToken cancellationToken = default)
    {
        await EnsureCatalogAsync(cancellationToken).ConfigureAwait(false);
        await using NpgsqlCommand command = _dataSource.CreateCommand(_sql.All);
        await using NpgsqlDataReader reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        var names = new HashSet<string>(StringComparer.Ordinal);
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            names.Add(reader.GetString(0));
        }

        return names;
    }

    public async ValueTask<bool> IsRegisteredAsync(string name, CancellationToken cancellationToken = default)
    {
        if (IsKnown(name))
        {
            return true;
        }

        if (TenantNames.Problem(name, _options.SharedSchema) is not null)
        {
            return false;
        }

        await EnsureCatalogAsync(cancellationToken).ConfigureAwait(false);
        await using NpgsqlCommand command = _dataSource.CreateCommand(_sql.Exists);
        command.Parameters.Add(new NpgsqlParameter { Value = name });
        return Remember(name, (bool)(await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false))!);
    }

    public bool IsRegistered(string name)
    {
        if (IsKnown(name))
        {
            return true;
        }

        if (TenantNames.Problem(name, _options.SharedSchema) is not null)
        {
            return false;
        }

        EnsureCatalog();
        using NpgsqlCommand command = _dataSource.CreateCommand(_sql.Exists);
        command.Parameters.Add(new NpgsqlParameter { Value = name });
        return Remember(name, (bool)command.ExecuteScalar()!);
    }

    private bool IsKnown(string name) =>
        _knownUntil.TryGetValue(name, out long until) && Environment.TickCount64 < until;

    private bool Remember(string name, bool registered = true)
    {
        if (registered)
        {
            _knownUntil[name] = Environment.TickCount64 + (long)_options.RegistryCacheDuration.TotalMilliseconds;
        }

        return registered;
    }

    private async ValueTask EnsureCatalogAsync(CancellationToken cancellationToken)
    {
        if (_bootstrapped)
        {
            return;
        }

        await _bootstrapGate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (!_bootstrapped)
            {
                await using NpgsqlConnection connection = await _dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
                await using NpgsqlTransaction transaction = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
                await using NpgsqlCommand command = new(_sql.Bootstrap, connection, transaction);
                await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
                await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
                _bootstrapped = true;
            }
        }
        finally
        {
            _bootstrapGate.Release();
        }
    }

    // The bootstrap runs once per process; blocking on it here keeps one implementation of it.
    private void EnsureCatalog() => EnsureCatalogAsync(CancellationToken.None).AsTask().GetAwaiter().GetResult();

    public void Dispose() => _bootstrapGate.Dispose();
}
