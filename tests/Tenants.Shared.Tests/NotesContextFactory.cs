using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Design;

namespace Tenants.Shared.Tests;

/// <summary>For `dotnet ef migrations add` only: the tools need a context without a running database.</summary>
public sealed class NotesContextFactory : IDesignTimeDbContextFactory<NotesContext>
{
    public NotesContext CreateDbContext(string[] args) =>
        new(new DbContextOptionsBuilder<NotesContext>().UseNpgsql("Host=localhost").Options);
}
