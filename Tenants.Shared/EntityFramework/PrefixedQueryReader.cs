using System.Collections;
using System.Collections.ObjectModel;
using System.Data;
using System.Data.Common;
using Npgsql;
using Tenants.Shared.Routing;

namespace Tenants.Shared.EntityFramework;

/// <summary>
/// The reader of a query that carried the routing prefix: records the route once the reader is closed with no error
/// on the way. PostgreSQL runs the prefix and the query as one implicit transaction (or inside the app's), so a query
/// that fails while its rows stream takes the routing down with it. Everything else goes to the provider's reader.
/// </summary>
internal sealed class PrefixedQueryReader(
    DbDataReader reader,
    ITenantConnectionRouting routing,
    NpgsqlConnection connection,
    string? tenant,
    bool inTransaction) : DbDataReader, IDbColumnSchemaGenerator
{
    private bool _failed;
    private bool _ended;

    public override int Depth => reader.Depth;

    public override int FieldCount => reader.FieldCount;

    public override bool HasRows => reader.HasRows;

    public override bool IsClosed => reader.IsClosed;

    public override int RecordsAffected => reader.RecordsAffected;

    public override int VisibleFieldCount => reader.VisibleFieldCount;

    public override object this[int ordinal] => reader[ordinal];

    public override object this[string name] => reader[name];

    public override bool Read()
    {
        try
        {
            return reader.Read();
        }
        catch
        {
            _failed = true;
            throw;
        }
    }

    public override Task<bool> ReadAsync(CancellationToken cancellationToken)
    {
        try
        {
            return Watch(reader.ReadAsync(cancellationToken));
        }
        catch
        {
            _failed = true;
            throw;
        }
    }

    public override bool NextResult()
    {
        try
        {
            return reader.NextResult();
        }
        catch
        {
            _failed = true;
            throw;
        }
    }

    public override Task<bool> NextResultAsync(CancellationToken cancellationToken)
    {
        try
        {
            return Watch(reader.NextResultAsync(cancellationToken));
        }
        catch
        {
            _failed = true;
            throw;
        }
    }

    public override void Close()
    {
        try
        {
            reader.Close();
        }
        catch
        {
            _failed = true;
            throw;
        }
        finally
        {
            End();
        }
    }

    public override async Task CloseAsync()
    {
        try
        {
            await reader.CloseAsync().ConfigureAwait(false);
        }
        catch
        {
            _failed = true;
            throw;
        }
        finally
        {
            End();
        }
    }

    public override async ValueTask DisposeAsync()
    {
        await CloseAsync().ConfigureAwait(false);
        await reader.DisposeAsync().ConfigureAwait(false);
        await base.DisposeAsync().ConfigureAwait(false); // closed and disposed already: nothing left to do
    }

    public override bool GetBoolean(int ordinal) => reader.GetBoolean(ordinal);

    public override byte GetByte(int ordinal) => reader.GetByte(ordinal);

    public override long GetBytes(int ordinal, long dataOffset, byte[]? buffer, int bufferOffset, int length) =>
        reader.GetBytes(ordinal, dataOffset, buffer, bufferOffset, length);

    public override char GetChar(int ordinal) => reader.GetChar(ordinal);

    public override long GetChars(int ordinal, long dataOffset, char[]? buffer, int bufferOffset, int length) =>
        reader.GetChars(ordinal, dataOffset, buffer, bufferOffset, length);

    public override string GetDataTypeName(int ordinal) => reader.GetDataTypeName(ordinal);

    public override DateTime GetDateTime(int ordinal) => reader.GetDateTime(ordinal);

    public override decimal GetDecimal(int ordinal) => reader.GetDecimal(ordinal);

    public override double GetDouble(int ordinal) => reader.GetDouble(ordinal);

    public override IEnumerator GetEnumerator() => new DbEnumerator(this);

    public override Type GetFieldType(int ordinal) => reader.GetFieldType(ordinal);

    public override T GetFieldValue<T>(int ordinal) => reader.GetFieldValue<T>(ordinal);

    public override Task<T> GetFieldValueAsync<T>(int ordinal, CancellationToken cancellationToken) =>
        reader.GetFieldValueAsync<T>(ordinal, cancellationToken);

    public override float GetFloat(int ordinal) => reader.GetFloat(ordinal);

    public override Guid GetGuid(int ordinal) => reader.GetGuid(ordinal);

    public override short GetInt16(int ordinal) => reader.GetInt16(ordinal);

    public override int GetInt32(int ordinal) => reader.GetInt32(ordinal);

    public override long GetInt64(int ordinal) => reader.GetInt64(ordinal);

    public override string GetName(int ordinal) => reader.GetName(ordinal);

    public override int GetOrdinal(string name) => reader.GetOrdinal(name);

    public override Type GetProviderSpecificFieldType(int ordinal) => reader.GetProviderSpecificFieldType(ordinal);

    public override object GetProviderSpecificValue(int ordinal) => reader.GetProviderSpecificValue(ordinal);

    public override int GetProviderSpecificValues(object[] values) => reader.GetProviderSpecificValues(values);

    public override DataTable? GetSchemaTable() => reader.GetSchemaTable();

    public override Task<DataTable?> GetSchemaTableAsync(CancellationToken cancellationToken = default) => reader.GetSchemaTableAsync(cancellationToken);

    public override Task<ReadOnlyCollection<DbColumn>> GetColumnSchemaAsync(CancellationToken cancellationToken = default) =>
        reader.GetColumnSchemaAsync(cancellationToken);

    public ReadOnlyCollection<DbColumn> GetColumnSchema() => reader.GetColumnSchema();

    public override Stream GetStream(int ordinal) => reader.GetStream(ordinal);

    public override string GetString(int ordinal) => reader.GetString(ordinal);

    public override TextReader GetTextReader(int ordinal) => reader.GetTextReader(ordinal);

    public override object GetValue(int ordinal) => reader.GetValue(ordinal);

    public override int GetValues(object[] values) => reader.GetValues(values);

    public override bool IsDBNull(int ordinal) => reader.IsDBNull(ordinal);

    public override Task<bool> IsDBNullAsync(int ordinal, CancellationToken cancellationToken) => reader.IsDBNullAsync(ordinal, cancellationToken);

    protected override DbDataReader GetDbDataReader(int ordinal) => reader.GetData(ordinal);

    protected override void Dispose(bool disposing)
    {
        // The base class closes the reader (this one's Close), then the provider's reader is disposed.
        base.Dispose(disposing);
        if (disposing)
        {
            reader.Dispose();
        }
    }

    // Most reads complete synchronously (the row is buffered): only a pending one pays for the watching state machine.
    private Task<bool> Watch(Task<bool> step) => step.IsCompletedSuccessfully ? step : Pending(step);

    private async Task<bool> Pending(Task<bool> step)
    {
        try
        {
            return await step.ConfigureAwait(false);
        }
        catch
        {
            _failed = true;
            throw;
        }
    }

    private void End()
    {
        if (!_ended)
        {
            _ended = true;
            if (!_failed)
            {
                routing.Batched(connection, tenant, inTransaction);
            }
        }
    }
}
