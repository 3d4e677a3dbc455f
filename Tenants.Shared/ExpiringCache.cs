using System.Collections.Concurrent;

namespace Tenants.Shared;

/// <summary>
/// Values by tenant name for a fixed time (<see cref="TenancyOptions.RegistryCacheDuration"/>, on the request path).
/// Expired entries are swept by <see cref="SweepExpired"/>, called on a miss after its round trip and walking the
/// entries at most once per duration, so the cache holds the names used lately, not every name seen since start.
/// </summary>
public sealed class ExpiringCache<TValue>(TimeSpan duration)
{
    private readonly ConcurrentDictionary<string, (TValue Value, long Until)> _entries = new(StringComparer.Ordinal);
    private readonly long _duration = (long)duration.TotalMilliseconds;
    private long _nextSweep;

    /// <summary>Entries held, expired ones not swept yet included.</summary>
    public int Count => _entries.Count;

    public bool TryGet(string name, out TValue value)
    {
        if (_entries.TryGetValue(name, out (TValue Value, long Until) entry) && Environment.TickCount64 < entry.Until)
        {
            value = entry.Value;
            return true;
        }

        value = default!;
        return false;
    }

    public void Set(string name, TValue value) => _entries[name] = (value, Environment.TickCount64 + _duration);

    public void Remove(string name) => _entries.TryRemove(name, out _);

    /// <summary>Removes expired entries, at most once per duration; an entry refreshed meanwhile compares unequal and stays.</summary>
    public void SweepExpired()
    {
        long now = Environment.TickCount64, due = Interlocked.Read(ref _nextSweep);
        if (now < due || Interlocked.CompareExchange(ref _nextSweep, now + _duration, due) != due)
        {
            return;
        }

        foreach (KeyValuePair<string, (TValue Value, long Until)> entry in _entries)
        {
            if (entry.Value.Until <= now)
            {
                _entries.TryRemove(entry);
            }
        }
    }
}
