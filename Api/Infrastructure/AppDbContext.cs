using Microsoft.EntityFrameworkCore;
using Saas.Api.Model;

namespace Saas.Api.Infrastructure;

/// <summary>
/// The app's per-tenant data. One model for every tenant: no HasDefaultSchema, so its tables resolve through the
/// current tenant's search_path, and its migrations run once per tenant schema.
/// </summary>
public sealed class AppDbContext(DbContextOptions<AppDbContext> options) : DbContext(options)
{
    public DbSet<Article> Articles => Set<Article>();

    protected override void OnModelCreating(ModelBuilder modelBuilder) =>
        modelBuilder.ApplyConfigurationsFromAssembly(typeof(AppDbContext).Assembly);
}
