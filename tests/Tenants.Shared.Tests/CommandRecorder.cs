using System.Collections.Concurrent;
using System.Diagnostics;
using Npgsql;

namespace Tenants.Shared.Tests;

/// <summary>The command texts Npgsql sends to one database while recording, routing prefixes included (connects excluded).</summary>
public sealed class CommandRecorder : IDisposable
{
    private readonly ConcurrentQueue<string> _texts = new();
    private readonly ActivityListener _listener;

    public CommandRecorder(string connectionString)
    {
        string database = new NpgsqlConnectionStringBuilder(connectionString).Database!;
        _listener = new ActivityListener
        {
            ShouldListenTo = s => s.Name == "Npgsql",
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllData,
            ActivityStopped = a =>
            {
                // Listeners see the whole process: only this database counts.
                if (a.GetTagItem("db.npgsql.data_source") is string source && source.Contains($"Database={database}", StringComparison.Ordinal)
                    && !a.DisplayName.StartsWith("CONNECT", StringComparison.Ordinal))
                {
                    _texts.Enqueue(a.GetTagItem("db.query.text") as string ?? a.DisplayName);
                }
            },
        };
        ActivitySource.AddActivityListener(_listener);
    }

    public IReadOnlyCollection<string> Texts => [.. _texts];

    public void Dispose() => _listener.Dispose();
}
