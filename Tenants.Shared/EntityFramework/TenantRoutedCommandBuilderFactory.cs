using Microsoft.EntityFrameworkCore.Storage;

namespace Tenants.Shared.EntityFramework;

/// <summary>
/// Builds every EF Core command of a context with tenant routing (queries, SaveChanges, raw SQL, migrations) as a
/// <see cref="TenantRoutedCommand"/>.
/// </summary>
internal sealed class TenantRoutedCommandBuilderFactory(RelationalCommandBuilderDependencies dependencies)
    : RelationalCommandBuilderFactory(dependencies)
{
    public override IRelationalCommandBuilder Create() => new Builder(Dependencies);

    private sealed class Builder(RelationalCommandBuilderDependencies dependencies) : RelationalCommandBuilder(dependencies)
    {
        // EF Core's own build keeps the text it logs (parameters redacted unless sensitive logging is on).
        public override IRelationalCommand Build()
        {
            IRelationalCommand built = base.Build();
            return new TenantRoutedCommand(Dependencies, built.CommandText, built.LogCommandText, built.Parameters);
        }
    }
}
