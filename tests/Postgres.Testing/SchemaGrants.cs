using Npgsql;

namespace Postgres.Testing;

/// <summary>What a schema gives away, read from the catalogs.</summary>
public static class SchemaGrants
{
    /// <summary>
    /// How many privileges <paramref name="schema"/> and the relations in it grant to anyone but the schema's owner
    /// (PUBLIC included): zero when nobody else may use it.
    /// </summary>
    public static async Task<long> ToOthersThanOwnerAsync(string connectionString, string schema, CancellationToken cancellationToken)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var command = new NpgsqlCommand(
            """
            SELECT count(*) FROM (
                SELECT (aclexplode(nspacl)).grantee, nspowner AS owner FROM pg_namespace WHERE nspname = $1
                UNION ALL
                SELECT (aclexplode(c.relacl)).grantee, n.nspowner FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = $1
            ) acl WHERE grantee <> owner
            """,
            connection);
        command.Parameters.Add(new NpgsqlParameter { Value = schema });
        return (long)(await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false))!;
    }
}
