using Npgsql;

namespace Tenants.Shared;

/// <summary>Where a connection string goes, for messages: host, port, database and user, never the password.</summary>
internal static class ConnectionDescription
{
    public static string Of(NpgsqlConnectionStringBuilder settings) =>
        $"Host={settings.Host};Port={settings.Port};Database={settings.Database};Username={settings.Username}";
}
