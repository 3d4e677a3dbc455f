using Microsoft.Extensions.Options;
using Npgsql;
using Tenants.Shared.Security;

namespace Tenants.Shared.Catalog;

/// <summary>
/// The catalog table in the shared schema, durable so that every process sees one set of tenants. It serves both
/// <see cref="ITenantRegistry"/> (the origin API's set semantics) and <see cref="ITenantCatalog"/> (records and state).
/// Positive registry look-ups are cached for <see cref="TenancyOptions.RegistryCacheDuration"/>; a miss always asks
/// the table, so a tenant registered by another process is seen at once, without a restart. Expired look-ups are
/// swept at most once per cache duration, so the cache holds the tenants looked up lately, not every one ever seen.
/// </summary>
public sealed class TenantCatalog : ITenantRegistry, ITenantCatalog, IDisposable
{
    private readonly NpgsqlDataSource _dataSource;
    private readonly NpgsqlDataSource _owner;
    private readonly TenancyOptions _options;
    private readonly CatalogSql _sql;
    private readonly string _grants;
    // Registered tenants looked up lately, with their plan's name (null: the default plan).
    private readonly ExpiringCache<string?> _known;
    private readonly SemaphoreSlim _bootstrapGate = new(1, 1);
    private readonly bool _ownerGiven;
    private volatile bool _bootstrapped;

    public TenantCatalog(TenantDataSource dataSource, OwnerDataSource owner, TenantPrivileges privileges, IOptions<TenancyOptions> options, TimeProvider time)
    {
        ArgumentNullException.ThrowIfNull(privileges);
        _dataSource = dataSource.Unrouted;
        _owner = owner.Source;
        _ownerGiven = owner.Given;
        _options = options.Value;
        _known = new ExpiringCache<string?>(_options.RegistryCacheDuration, time);
        _sql = new CatalogSql(_options.SharedSchema, privileges);
        _grants = privileges.Key;
    }

    public async Task<bool> RegisterAsync(string name, CancellationToken cancellationToken = default) =>
        (await CreateAsync(name, name, cancellationToken).ConfigureAwait(false)).Outcome switch
        {
            RegistrationOutcome.Created => true,
            RegistrationOutcome.Retired => throw new InvalidOperationException(
                $"Tenant name '{name}' belonged to a deleted tenant and was not released; delete it again with the name released to reuse it."),
            _ => false,
        };

    public async Task<(RegistrationOutcome Outcome, TenantRecord Record)> CreateAsync(string name, string displayName, CancellationToken cancellationToken = default)
    {
        TenantNames.EnsureValid(name, _options.SharedSchema);
        ArgumentNullException.ThrowIfNull(displayName);
        await EnsureCatalogAsync(cancellationToken).ConfigureAwait(false);

        // A schema of that name not created for a tenant (the migrator would refuse it too) keeps the name from tenants.
        await using (NpgsqlCommand taken = Command(TenantSchemas.TakenSql, [name]))
        {
            if ((bool)(await taken.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false))!)
            {
                throw new SchemaTakenException(name);
            }
        }

        // ON CONFLICT DO NOTHING makes racing registrations safe; the loser reads the winner's row to compare.
        TenantRecord? created = await QuerySingleAsync(_sql.Insert, cancellationToken, name, displayName).ConfigureAwait(false);
        if (created is not null)
        {
            Remember(name, registered: true, created.Plan);
            return (RegistrationOutcome.Created, created);
        }

        TenantRecord existing = await QuerySingleAsync(_sql.Find, cancellationToken, name).ConfigureAwait(false)
            ?? throw new InvalidOperationException($"Tenant '{name}' vanished while being registered.");
        if (existing.Status == TenantStatus.Deleted)
        {
            return (RegistrationOutcome.Retired, existing);
        }

        Remember(name, registered: true, existing.Plan);
        return (existing.DisplayName == displayName ? RegistrationOutcome.AlreadyExists : RegistrationOutcome.Conflict, existing);
    }

    public async Task<HashSet<string>> RegisteredTenantsAsync(CancellationToken cancellationToken = default)
    {
        await EnsureCatalogAsync(cancellationToken).ConfigureAwait(false);
        await using NpgsqlCommand command = _dataSource.CreateCommand(_sql.Names);
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
        await using NpgsqlCommand command = _dataSource.CreateCommand(_sql.PlanIfRegistered);
        command.Parameters.Add(new NpgsqlParameter { Value = name });
        return RememberPlan(name, await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false));
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

        // The bootstrap runs once per process; blocking on it here keeps one implementation of it.
        EnsureCatalogAsync(CancellationToken.None).AsTask().GetAwaiter().GetResult();
        return ReadPlan(name) is not null;
    }

    public async Task<TenantRecord?> FindAsync(string name, CancellationToken cancellationToken = default)
    {
        if (TenantNames.Problem(name, _options.SharedSchema) is not null)
        {
            return null;
        }

        await EnsureCatalogAsync(cancellationToken).ConfigureAwait(false);
        TenantRecord? record = await QuerySingleAsync(_sql.Find, cancellationToken, name).ConfigureAwait(false);

        // The row answers the registry's question too: a request that just read it enters the scope with no second query.
        Remember(name, registered: record is { Status: not TenantStatus.Deleted }, record?.Plan);
        return record;
    }

    public async Task<IReadOnlyList<TenantRecord>> FindManyAsync(IReadOnlyCollection<string> names, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(names);
        string[] valid = [.. names.Where(n => TenantNames.Problem(n, _options.SharedSchema) is null).Distinct(StringComparer.Ordinal)];
        if (valid.Length == 0)
        {
            return [];
        }

        await EnsureCatalogAsync(cancellationToken).ConfigureAwait(false);
        IReadOnlyList<TenantRecord> records = await QueryAsync(_sql.FindMany, [valid], cancellationToken).ConfigureAwait(false);

        // As in FindAsync: the rows answer the registry's question too.
        foreach (TenantRecord record in records)
        {
            Remember(record.Name, registered: record.Status != TenantStatus.Deleted, record.Plan);
        }

        return records;
    }

    public async Task<IReadOnlyList<TenantRecord>> ListAsync(CancellationToken cancellationToken = default)
    {
        await EnsureCatalogAsync(cancellationToken).ConfigureAwait(false);
        return await QueryAsync(_sql.List, [], cancellationToken).ConfigureAwait(false);
    }

    public async Task<IReadOnlyList<string>> BehindAsync(string? latestMigration, CancellationToken cancellationToken = default)
    {
        await EnsureCatalogAsync(cancellationToken).ConfigureAwait(false);
        await using NpgsqlCommand command = Command(_sql.Behind, [latestMigration, _grants]);
        await using NpgsqlDataReader reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        var names = new List<string>();
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            names.Add(reader.GetString(0));
        }

        return names;
    }

    // Outcomes are the owner's to record: the app role may read and insert, never update.
    public Task MarkReadyAsync(string name, string? lastMigration, CancellationToken cancellationToken = default) =>
        ExecuteAsOwnerAsync(_sql.MarkReady, cancellationToken, name, lastMigration, _grants);

    public Task MarkFailedAsync(string name, string error, CancellationToken cancellationToken = default) =>
        ExecuteAsOwnerAsync(_sql.MarkFailed, cancellationToken, name, error);

    public void Dispose() => _bootstrapGate.Dispose();

    private async Task ExecuteAsOwnerAsync(string sql, CancellationToken cancellationToken, params object?[] values)
    {
        await EnsureCatalogAsync(cancellationToken).ConfigureAwait(false);
        await using NpgsqlCommand command = Command(sql, values, _owner);
        await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }

    private async Task<IReadOnlyList<TenantRecord>> QueryAsync(string sql, object?[] values, CancellationToken cancellationToken)
    {
        await using NpgsqlCommand command = Command(sql, values);
        await using NpgsqlDataReader reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        var records = new List<TenantRecord>();
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            records.Add(Read(reader));
        }

        return records;
    }

    private async Task<TenantRecord?> QuerySingleAsync(string sql, CancellationToken cancellationToken, params object?[] values)
    {
        await using NpgsqlCommand command = Command(sql, values);
        await using NpgsqlDataReader reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        return await reader.ReadAsync(cancellationToken).ConfigureAwait(false) ? Read(reader) : null;
    }

    private NpgsqlCommand Command(string sql, object?[] values, NpgsqlDataSource? source = null)
    {
        NpgsqlCommand command = (source ?? _dataSource).CreateCommand(sql);
        foreach (object? value in values)
        {
            command.Parameters.Add(new NpgsqlParameter { Value = value ?? DBNull.Value });
        }

        return command;
    }

    internal static TenantRecord Read(NpgsqlDataReader reader) => new(
        Name: reader.GetString(0),
        DisplayName: reader.GetString(1),
        State: Enum.Parse<MigrationState>(reader.GetString(2), ignoreCase: true),
        LastMigration: reader.IsDBNull(3) ? null : reader.GetString(3),
        Attempts: reader.GetInt32(4),
        LastError: reader.IsDBNull(5) ? null : reader.GetString(5),
        RegisteredAt: reader.GetFieldValue<DateTimeOffset>(6),
        UpdatedAt: reader.GetFieldValue<DateTimeOffset>(7),
        Status: Enum.Parse<TenantStatus>(reader.GetString(8), ignoreCase: true),
        ArchivedAs: reader.IsDBNull(9) ? null : reader.GetString(9),
        Plan: reader.IsDBNull(10) ? null : reader.GetString(10));

    /// <summary>Forgets any cached look-up of <paramref name="name"/> (of every tenant when null): its status changed.</summary>
    internal void Forget(string? name)
    {
        if (name is null)
        {
            _known.Clear();
        }
        else
        {
            _known.Remove(name);
        }
    }

    internal NpgsqlDataSource Owner => _owner;

    /// <summary>The app's own connections to the shared schema: what a process without the owner's login may do.</summary>
    internal NpgsqlDataSource App => _dataSource;

    internal CatalogSql Sql => _sql;

    internal ValueTask EnsureBootstrappedAsync(CancellationToken cancellationToken) => EnsureCatalogAsync(cancellationToken);

    /// <summary>
    /// The plan of the registered tenant <paramref name="name"/> (null: the default plan), from the look-up a tenant
    /// scope is entered after, or from the catalog when that is no longer cached.
    /// </summary>
    internal string? PlanOf(string name)
    {
        return _known.TryGet(name, out string? plan) ? plan : ReadPlan(name) as string;
    }

    private bool IsKnown(string name) => _known.TryGet(name, out _);

    // One round trip, remembered: null when the tenant is not registered, else its plan (DBNull for the default).
    private object? ReadPlan(string name)
    {
        using NpgsqlCommand command = _dataSource.CreateCommand(_sql.PlanIfRegistered);
        command.Parameters.Add(new NpgsqlParameter { Value = name });
        object? found = command.ExecuteScalar();
        RememberPlan(name, found);
        return found;
    }

    // The answer of PlanIfRegistered: no row (null) is not registered; a row holds the plan, NULL for the default.
    private bool RememberPlan(string name, object? plan) =>
        Remember(name, registered: plan is not null, plan as string);

    // Called after a catalog round trip: the sweep rides on it.
    private bool Remember(string name, bool registered, string? plan)
    {
        if (registered)
        {
            _known.Set(name, plan);
        }

        _known.SweepExpired();
        return registered;
    }

    private async Task<bool> CatalogExistsAsync(CancellationToken cancellationToken)
    {
        await using NpgsqlCommand command = _dataSource.CreateCommand(_sql.CatalogExists);
        return (bool)(await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false))!;
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
            if (!_bootstrapped && !_ownerGiven && await CatalogExistsAsync(cancellationToken).ConfigureAwait(false))
            {
                _bootstrapped = true; // the owner's process made it: a process without the owner's login leaves it be
            }

            if (!_bootstrapped)
            {
                // The owner creates the catalog (and grants the app role its part); the app role could not.
                await using NpgsqlConnection connection = await _owner.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
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
}
