namespace Saas.Api.Tests;

/// <summary>
/// The resolution orders a generated app can ship with (its <c>--strategy</c> option: that strategy first, then the
/// others), so that tests of resolution and hopping run under each, not only under the repository's default.
/// </summary>
public static class StrategyOrders
{
    public static readonly string[] ClaimFirst = ["claim", "route", "host", "header"];

    public static readonly string[] RouteFirst = ["route", "claim", "host", "header"];

    public static readonly string[] HostFirst = ["host", "claim", "route", "header"];

    public static readonly string[] HeaderFirst = ["header", "claim", "route", "host"];
}
