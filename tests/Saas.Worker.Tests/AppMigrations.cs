using System.Reflection;
using Microsoft.EntityFrameworkCore.Migrations;
using Saas.Data;

namespace Saas.Worker.Tests;

/// <summary>The app's migrations, oldest first, as EF Core orders them (by id).</summary>
internal static class AppMigrations
{
    public static IReadOnlyList<string> Ids { get; } =
    [
        .. typeof(AppDbContext).Assembly.GetTypes()
            .Select(t => t.GetCustomAttribute<MigrationAttribute>()?.Id)
            .OfType<string>()
            .Order(StringComparer.Ordinal),
    ];

    /// <summary>The newest, or null when the app has none.</summary>
    public static string? Latest => Ids.Count > 0 ? Ids[^1] : null;
}
