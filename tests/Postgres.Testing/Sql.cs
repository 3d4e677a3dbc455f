using Npgsql;

namespace Postgres.Testing;

/// <summary>One statement on a connection of its own, for a test's setup and assertions.</summary>
public static class Sql
{
    public static async Task ExecuteAsync(string connectionString, string sql, CancellationToken cancellationToken, params object[] parameters)
    {
        await using NpgsqlConnection connection = await OpenAsync(connectionString, cancellationToken);
        await using NpgsqlCommand command = Command(connection, sql, parameters);
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    /// <summary>The first column of every row.</summary>
    public static async Task<List<T>> ColumnAsync<T>(string connectionString, string sql, CancellationToken cancellationToken, params object[] parameters)
    {
        await using NpgsqlConnection connection = await OpenAsync(connectionString, cancellationToken);
        await using NpgsqlCommand command = Command(connection, sql, parameters);
        await using NpgsqlDataReader reader = await command.ExecuteReaderAsync(cancellationToken);
        var values = new List<T>();
        while (await reader.ReadAsync(cancellationToken))
        {
            values.Add(reader.GetFieldValue<T>(0));
        }

        return values;
    }

    /// <summary>The one value the statement returns; fails when it returns no row or more than one.</summary>
    public static async Task<T> ScalarAsync<T>(string connectionString, string sql, CancellationToken cancellationToken, params object[] parameters) =>
        (await ColumnAsync<T>(connectionString, sql, cancellationToken, parameters)).Single();

    private static async Task<NpgsqlConnection> OpenAsync(string connectionString, CancellationToken cancellationToken)
    {
        var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync(cancellationToken);
        return connection;
    }

    private static NpgsqlCommand Command(NpgsqlConnection connection, string sql, object[] parameters)
    {
        var command = new NpgsqlCommand(sql, connection);
        foreach (object parameter in parameters)
        {
            command.Parameters.Add(new NpgsqlParameter { Value = parameter });
        }

        return command;
    }
}
