using System.Diagnostics;

namespace Benchmarks;

/// <summary>Counts the Npgsql commands this process runs (connection opens aside) while it is not disposed.</summary>
internal sealed class NpgsqlCommandCount : IDisposable
{
    private readonly ActivityListener _listener;
    private long _count;

    public NpgsqlCommandCount()
    {
        _listener = new ActivityListener
        {
            ShouldListenTo = s => s.Name == "Npgsql",
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllData,
            ActivityStopped = a =>
            {
                if (!a.DisplayName.StartsWith("CONNECT", StringComparison.Ordinal))
                {
                    Interlocked.Increment(ref _count);
                }
            },
        };
        ActivitySource.AddActivityListener(_listener);
    }

    public long Count => Interlocked.Read(ref _count);

    public void Dispose() => _listener.Dispose();
}
