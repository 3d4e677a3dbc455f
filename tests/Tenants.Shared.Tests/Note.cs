using Microsoft.EntityFrameworkCore;

namespace Tenants.Shared.Tests;

/// <summary>A per-tenant row. <see cref="Tenant"/> records who wrote it, so a foreign row is easy to spot.</summary>
public sealed class Note
{
    public long Id { get; set; }

    public required string Tenant { get; set; }

    public required string Body { get; set; }
}

/// <summary>One model for every tenant: no HasDefaultSchema, tables resolve through the search_path.</summary>
public sealed class NotesContext(DbContextOptions<NotesContext> options) : DbContext(options)
{
    public DbSet<Note> Notes => Set<Note>();

    protected override void OnModelCreating(ModelBuilder modelBuilder) =>
        modelBuilder.Entity<Note>().ToTable("notes");
}
