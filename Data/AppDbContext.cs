using Microsoft.EntityFrameworkCore;
#if (includeSample)
using Saas.Data.Model;
#endif

namespace Saas.Data;

/// <summary>
/// The app's per-tenant data. One model for every tenant: no HasDefaultSchema, so its tables resolve through the
/// current tenant's search_path, and its migrations run once per tenant schema.
/// </summary>
public sealed class AppDbContext(DbContextOptions<AppDbContext> options) : DbContext(options)
{
#if (includeSample)
    public DbSet<Article> Articles => Set<Article>();
#endif

    protected override void OnModelCreating(ModelBuilder modelBuilder) =>
        modelBuilder.ApplyConfigurationsFromAssembly(typeof(AppDbContext).Assembly);
}
