namespace Saas.Worker.Jobs;

/// <summary>Settings of the sample per-tenant jobs, bound from <c>Tenancy:Jobs</c>.</summary>
internal sealed class JobOptions
{
    public const string SectionName = "Tenancy:Jobs";

    public TimeSpan ArticleStatsInterval { get; set; } = TimeSpan.FromMinutes(1);
}
