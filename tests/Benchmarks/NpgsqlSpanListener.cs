using System.Diagnostics;

namespace Benchmarks;

/// <summary>Hears every Npgsql span this process ends while it is not disposed: how the benchmarks count SQL.</summary>
internal sealed class NpgsqlSpanListener : IDisposable
{
    private readonly ActivityListener _listener;

    public NpgsqlSpanListener(Action<Activity> stopped)
    {
        _listener = new ActivityListener
        {
            ShouldListenTo = s => s.Name == "Npgsql",
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllData,
            ActivityStopped = stopped,
        };
        ActivitySource.AddActivityListener(_listener);
    }

    public void Dispose() => _listener.Dispose();
}
