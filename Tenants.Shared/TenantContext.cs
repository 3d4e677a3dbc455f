using System.Runtime.CompilerServices;
using Microsoft.Extensions.Options;
using Tenants.Shared.Capacity;
using Tenants.Shared.Catalog;

namespace Tenants.Shared;

/// <summary>
/// Opens tenant scopes: for a scope's duration, database work routes to the tenant's schema (then the shared one).
/// The current tenant is ambient (an <see cref="AsyncLocal{T}"/>), so concurrent requests and tasks never see each
/// other's tenant, and work started inside a scope keeps it.
/// </summary>
/// <example>
/// <code>
/// using (var scope = tenants.Enter("acme")) { /* scope.Schema == "acme" */ }
/// await using (var scope = await tenants.EnterAsync("acme")) { ... }
/// </code>
/// </example>
/// <param name="registry">Which tenants exist.</param>
/// <param name="options">The tenancy settings.</param>
/// <param name="plans">The limits each scope's database work runs under (its tenant's plan's); none without it.</param>
public sealed class TenantContext(ITenantRegistry registry, IOptions<TenancyOptions> options, TenantPlans? plans = null)
{
    private static readonly AsyncLocal<TenantScope?> Ambient = new();

    /// <summary>The tenant of the innermost open scope on this flow, or null outside any scope.</summary>
    public static string? CurrentTenant => Ambient.Value?.Schema;

    /// <summary>The innermost open scope on this flow, or null outside any scope.</summary>
    internal static TenantScope? CurrentScope => Ambient.Value;

    /// <summary>The limits of the innermost open scope on this flow, or null outside any scope or without plans.</summary>
    internal static TenantPlan? CurrentLimits => Ambient.Value?.Limits;

    /// <summary>Enters <paramref name="name"/>'s scope. Throws before any tenant SQL runs if the name is invalid or unknown.</summary>
    public TenantScope Enter(string name)
    {
        TenantNames.EnsureValid(name, options.Value.SharedSchema);
        if (!registry.IsRegistered(name))
        {
            throw new UnknownTenantException(name);
        }

        return Activate(name, plans?.LimitsOf(name));
    }

    /// <summary>
    /// Enters the scope of <paramref name="tenant"/>, a served tenant as the catalog (or a cache of it) just returned it,
    /// without asking the registry again: its limits are those of the plan the record names. For callers that hold the
    /// record already, such as request resolution and jobs over the catalog's list: one look-up per tenant, and the
    /// scope agrees with the record the caller checked. Throws before any tenant SQL runs if the name is invalid or the
    /// tenant is not served.
    /// </summary>
    public TenantScope Enter(TenantRecord tenant)
    {
        ArgumentNullException.ThrowIfNull(tenant);
        TenantNames.EnsureValid(tenant.Name, options.Value.SharedSchema);
        if (!tenant.IsServed)
        {
            throw new InvalidOperationException(
                $"Tenant '{tenant.Name}' is not served ({tenant.Status}, {tenant.State}); enter a served tenant's record, or the tenant by name.");
        }

        return Activate(tenant.Name, plans?.Limits(plans.NameOf(tenant)));
    }

    /// <summary>
    /// Async counterpart of <see cref="Enter(string)"/>. Await it directly (<c>await using var s = await ctx.EnterAsync(n)</c>):
    /// the scope becomes current when the await completes, on the awaiting flow.
    /// </summary>
    public EnterTenantAwaitable EnterAsync(string name, CancellationToken cancellationToken = default)
    {
        TenantNames.EnsureValid(name, options.Value.SharedSchema);
        return new EnterTenantAwaitable(name, registry.IsRegisteredAsync(name, cancellationToken), plans);
    }

    internal static TenantScope Activate(string name, TenantPlan? limits)
    {
        var scope = new TenantScope(name, Ambient.Value, limits);
        Ambient.Value = scope;
        return scope;
    }

    internal static void Restore(TenantScope closing)
    {
        closing.Close();

        // A scope disposed on another flow (or twice) must not clobber what this flow sees; one disposed out of order
        // (the outer before the inner) is never current again.
        if (ReferenceEquals(Ambient.Value, closing))
        {
            TenantScope? outer = closing.Outer;
            while (outer is { IsClosed: true })
            {
                outer = outer.Outer;
            }

            Ambient.Value = outer;
        }
    }

    /// <summary>
    /// Why a custom awaitable: an <c>async</c> method's changes to an AsyncLocal are undone when it returns, so an
    /// async method could never hand an active scope to its caller. <see cref="Awaiter.GetResult"/> runs in the
    /// caller's own flow, after the registry look-up, so the scope set there stays current for the caller.
    /// </summary>
    public readonly struct EnterTenantAwaitable
    {
        private readonly string _name;
        private readonly ValueTask<bool> _registered;
        private readonly TenantPlans? _plans;

        internal EnterTenantAwaitable(string name, ValueTask<bool> registered, TenantPlans? plans)
        {
            _name = name;
            _registered = registered;
            _plans = plans;
        }

        public Awaiter GetAwaiter() => new(_name, _registered.GetAwaiter(), _plans);

        public readonly struct Awaiter : ICriticalNotifyCompletion
        {
            private readonly string _name;
            private readonly ValueTaskAwaiter<bool> _inner;
            private readonly TenantPlans? _plans;

            internal Awaiter(string name, ValueTaskAwaiter<bool> inner, TenantPlans? plans)
            {
                _name = name;
                _inner = inner;
                _plans = plans;
            }

            public bool IsCompleted => _inner.IsCompleted;

            public void OnCompleted(Action continuation) => _inner.OnCompleted(continuation);

            public void UnsafeOnCompleted(Action continuation) => _inner.UnsafeOnCompleted(continuation);

            public TenantScope GetResult() =>
                _inner.GetResult() ? Activate(_name, _plans?.LimitsOf(_name)) : throw new UnknownTenantException(_name);
        }
    }
}
