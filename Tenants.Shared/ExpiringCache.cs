using System.Collections.Concurrent;

namespace Tenants.Shared;

/// <summary>
/// Values by tenant name for a fixed time (<see cref="TenancyOptions.RegistryCacheDuration"/>, on the request path).
/// Past half its life an entry is due for a refresh, which one caller claims and runs off the request path, so that an
/// entry in use is replaced before it expires and no request waits on the catalog for it. Expired entries are swept by
/// <see cref="SweepExpired"/>, called after a round trip and walking the entries at most once per duration, so the
/// cache holds the names used lately, not every name seen since start.
/// </summary>
public sealed class ExpiringCache<TValue>(TimeSpan duration, TimeProvider time)
{
    private readonly ConcurrentDictionary<string, Entry> _entries = new(StringComparer.Ordinal);
    private readonly long _duration = (long)(duration.TotalSeconds * time.TimestampFrequency);
    private long _nextSweep;

    /// <summary>Entries held, expired ones not swept yet included.</summary>
    public int Count => _entries.Count;

    public bool TryGet(string name, out TValue value)
    {
        bool found = TryGetLive(name, time.GetTimestamp(), out Entry? entry);
        value = found ? entry!.Value : default!;
        return found;
    }

    /// <param name="name">The tenant's name.</param>
    /// <param name="value">The cached value, when there is one that has not expired.</param>
    /// <param name="refreshDue">
    /// True for one caller only, once the entry is past half its life: that caller refreshes it (<see cref="Refresh"/> or
    /// <see cref="Remove"/>). Until then, and if the refresh fails, the entry serves until it expires.
    /// </param>
    public bool TryGet(string name, out TValue value, out bool refreshDue)
    {
        long now = time.GetTimestamp();
        bool found = TryGetLive(name, now, out Entry? entry);
        value = found ? entry!.Value : default!;
        refreshDue = found && entry!.TryClaimRefresh(now);
        return found;
    }

    public void Set(string name, TValue value) => _entries[name] = NewEntry(value);

    /// <summary>
    /// Replaces the entry whose refresh was claimed, if it is still there: one removed meanwhile (a tenant forgotten
    /// because it just changed) stays removed, and one set meanwhile is newer than the refresh.
    /// </summary>
    public void Refresh(string name, TValue value)
    {
        if (_entries.TryGetValue(name, out Entry? due) && due.RefreshClaimed)
        {
            _entries.TryUpdate(name, NewEntry(value), due);
        }
    }

    public void Remove(string name) => _entries.TryRemove(name, out _);

    public void Clear() => _entries.Clear();

    /// <summary>Removes expired entries, at most once per duration; an entry refreshed meanwhile is another entry and stays.</summary>
    public void SweepExpired()
    {
        long now = time.GetTimestamp(), due = Interlocked.Read(ref _nextSweep);
        if (now < due || Interlocked.CompareExchange(ref _nextSweep, now + _duration, due) != due)
        {
            return;
        }

        foreach (KeyValuePair<string, Entry> entry in _entries)
        {
            if (entry.Value.Until <= now)
            {
                _entries.TryRemove(entry);
            }
        }
    }

    private bool TryGetLive(string name, long now, out Entry? entry) =>
        _entries.TryGetValue(name, out entry) && now < entry.Until;

    private Entry NewEntry(TValue value)
    {
        long now = time.GetTimestamp();
        return new Entry(value, now + (_duration / 2), now + _duration);
    }

    private sealed class Entry(TValue value, long refreshFrom, long until)
    {
        // Set once, by the caller that claims the refresh; a refreshed value is a new entry with a claim of its own.
        private int _refreshClaimed;

        public TValue Value { get; } = value;

        public long Until { get; } = until;

        public bool RefreshClaimed => Volatile.Read(ref _refreshClaimed) == 1;

        // Read before the exchange, so that the hits after the claim write nothing to a line every core reads.
        public bool TryClaimRefresh(long now) =>
            now >= refreshFrom && !RefreshClaimed && Interlocked.Exchange(ref _refreshClaimed, 1) == 0;
    }
}
