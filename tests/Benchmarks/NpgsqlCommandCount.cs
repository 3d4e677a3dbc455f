namespace Benchmarks;

/// <summary>Counts the Npgsql commands this process runs (connection opens aside) while it is not disposed.</summary>
internal sealed class NpgsqlCommandCount : IDisposable
{
    private readonly NpgsqlSpanListener _listener;
    private long _count;

    public NpgsqlCommandCount() => _listener = new NpgsqlSpanListener(span =>
    {
        if (!span.DisplayName.StartsWith("CONNECT", StringComparison.Ordinal))
        {
            Interlocked.Increment(ref _count);
        }
    });

    public long Count => Interlocked.Read(ref _count);

    public void Dispose() => _listener.Dispose();
}
