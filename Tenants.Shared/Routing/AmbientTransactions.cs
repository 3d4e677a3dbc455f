using System.Transactions;

namespace Tenants.Shared.Routing;

/// <summary>
/// Tenant routing takes no part in ambient transactions (<see cref="TransactionScope"/>). Npgsql hands a connection
/// closed inside one to the next open in that transaction, and back to the pool once it ends, without the pool reset
/// that routing relies on: still in the last tenant's schema and role. So the pools never enlist, and the connections
/// the routing hands out refuse to open or run a command inside one.
/// </summary>
internal static class AmbientTransactions
{
    /// <summary>Throws <see cref="NotSupportedException"/> inside an ambient transaction.</summary>
    public static void Refuse()
    {
        if (Transaction.Current is not null)
        {
            throw new NotSupportedException(
                "Tenant routing does not take part in a TransactionScope (an ambient transaction): a connection closed inside one " +
                "would reach its next user without the pool reset, still routed to a tenant. Use DbContext.Database.BeginTransaction " +
                "(or NpgsqlConnection.BeginTransaction) inside the tenant scope instead.");
        }
    }
}
