using System.Diagnostics;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;
using Saas.Data;
using Tenants.Shared;
using Tenants.Shared.Catalog;

namespace Saas.Worker.Jobs;

/// <summary>
/// The pattern to copy for periodic per-tenant work: for each ready tenant, enter its TenantContext, then use the
/// ordinary DbContext. Inside the scope, queries route to the tenant's schema and logs and spans carry the tenant,
/// exactly as in a request; nothing passes the tenant's name around by hand.
/// </summary>
internal sealed partial class ArticleStatsJob(
    ITenantCatalog catalog,
    TenantContext tenants,
    IServiceScopeFactory scopes,
    IOptions<JobOptions> options,
    ILogger<ArticleStatsJob> logger) : BackgroundService
{
    // The Worker's own source: ServiceDefaults listens to the application's name.
    private static readonly ActivitySource Source = new(typeof(ArticleStatsJob).Assembly.GetName().Name!);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(options.Value.ArticleStatsInterval);
        do
        {
            try
            {
                await RunOnceAsync(stoppingToken);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                LogFailed(e);
            }
        }
        while (await timer.WaitForNextTickAsync(stoppingToken));
    }

    /// <summary>One round over every served tenant (active and ready); returns each tenant's statistic.</summary>
    public async Task<IReadOnlyDictionary<string, long>> RunOnceAsync(CancellationToken cancellationToken)
    {
        var counts = new Dictionary<string, long>(StringComparer.Ordinal);
        foreach (TenantRecord tenant in await catalog.ListAsync(cancellationToken))
        {
            if (!tenant.IsServed)
            {
                continue;
            }

            using TenantScope scope = tenants.Enter(tenant); // the record just listed: no registry look-up per tenant
            using Activity? span = Source.StartActivity("article stats"); // tagged tenant.id by the span processor
            try
            {
                await using AsyncServiceScope services = scopes.CreateAsyncScope();
                AppDbContext db = services.ServiceProvider.GetRequiredService<AppDbContext>();
                long articles = await db.Articles.LongCountAsync(cancellationToken);
                counts[tenant.Name] = articles;
                LogCount(articles);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                // One tenant at its plan's limits (busy, a statement timed out) or failing must not cost the others their round.
                span?.SetStatus(ActivityStatusCode.Error, e.GetType().Name);
                LogTenantFailed(e);
            }
        }

        return counts;
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "The article statistics of this tenant failed; the round goes on with the others")]
    private partial void LogTenantFailed(Exception exception);

    [LoggerMessage(Level = LogLevel.Information, Message = "{Articles} article(s)")]
    private partial void LogCount(long articles);

    [LoggerMessage(Level = LogLevel.Warning, Message = "The article statistics round failed")]
    private partial void LogFailed(Exception exception);
}
