using System.Diagnostics;

namespace Postgres.Testing;

/// <summary>
/// Waits for a condition, not for a duration: a test that waits this way passes as soon as the condition holds and
/// fails only past <see cref="Ceiling"/>, which a slow or busy machine does not reach and a real hang does.
/// </summary>
public static class Eventually
{
    /// <summary>How long any awaited condition may take before the wait counts as a hang.</summary>
    public static readonly TimeSpan Ceiling = TimeSpan.FromMinutes(3);

    /// <summary>
    /// How long a whole app may take to start (its servers, the Worker's first migration pass, the Api) before the wait
    /// counts as a hang: starting them all on a busy machine takes longer than one condition's <see cref="Ceiling"/>.
    /// </summary>
    public static readonly TimeSpan AppStartCeiling = TimeSpan.FromMinutes(10);

    /// <summary>A whole test's guard against hangs (xunit's <c>Timeout</c>, in milliseconds), for tests that wait on several conditions.</summary>
    public const int TestTimeout = 600_000;

    private static readonly TimeSpan Interval = TimeSpan.FromMilliseconds(50);

    /// <summary>Polls <paramref name="condition"/> until it holds; throws a <see cref="TimeoutException"/> naming <paramref name="what"/> past the ceiling.</summary>
    public static async Task UntilAsync(Func<Task<bool>> condition, string what, CancellationToken cancellationToken, TimeSpan? ceiling = null)
    {
        ArgumentNullException.ThrowIfNull(condition);
        TimeSpan limit = ceiling ?? Ceiling;
        var clock = Stopwatch.StartNew();
        while (!await condition().ConfigureAwait(false))
        {
            if (clock.Elapsed > limit)
            {
                throw new TimeoutException($"Waited {limit} for {what}.");
            }

            await Task.Delay(Interval, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>Synchronous-condition form of <see cref="UntilAsync(Func{Task{bool}}, string, CancellationToken, TimeSpan?)"/>.</summary>
    public static Task UntilAsync(Func<bool> condition, string what, CancellationToken cancellationToken, TimeSpan? ceiling = null)
    {
        ArgumentNullException.ThrowIfNull(condition);
        return UntilAsync(() => Task.FromResult(condition()), what, cancellationToken, ceiling);
    }
}
