using OpenTelemetry.Metrics;
using OpenTelemetry.Trace;
using Saas.Data;
#if (includeSample && includeJob)
using Saas.Worker.Jobs;
#endif
using Tenants.Shared;
using Tenants.Shared.Migrations;
using Tenants.Shared.Offboarding;

namespace Saas.Worker.Extensions;

internal static class Extensions
{
    /// <summary>What both the hosted Worker and its command line need: tenancy, the app's data, the runner.</summary>
    public static void AddTenantData(this IHostApplicationBuilder builder)
    {
        builder.AddAppData();
        builder.Services.AddOptions<MigrationRunnerOptions>().BindConfiguration(MigrationRunnerOptions.SectionName);
    }

    /// <summary>The hosted Worker: its telemetry by tenant, the migration service (and its readiness) and the sample per-tenant job.</summary>
    public static void AddBackgroundWork(this IHostApplicationBuilder builder)
    {
        builder.AddTenancyTelemetry();
        builder.Services.AddSingleton<MigrationReadiness>();
        builder.Services.AddHealthChecks().AddCheck<MigrationReadiness>("migrations");
        builder.Services.AddHostedService<TenantMigrationService>();
        builder.Services.AddHostedService<TenantRequestProcessor>();
#if (includeSample && includeJob)

        builder.Services.AddOptions<JobOptions>().BindConfiguration(JobOptions.SectionName);
        builder.Services.AddSingleton<ArticleStatsJob>();
        builder.Services.AddHostedService(sp => sp.GetRequiredService<ArticleStatsJob>());
#endif
    }

    private static void AddTenancyTelemetry(this IHostApplicationBuilder builder) =>
        builder.Services.AddOpenTelemetry()
            .WithTracing(tracing => tracing.AddTenancyInstrumentation())
            .WithMetrics(metrics => metrics.AddTenancyInstrumentation());
}
