using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;
using Npgsql;
using Tenants.Shared.EntityFramework;
using Tenants.Shared.Routing;

namespace Tenants.Shared.Tests;

public sealed class ProviderTests
{
    [Fact]
    public async Task A_non_PostgreSQL_provider_fails_loudly_naming_PostgreSQL()
    {
        // A real SQLite database, not a fake: the provider works, and tenant routing must still refuse it.
        await using var sqlite = new SqliteConnection("Data Source=:memory:");
        await sqlite.OpenAsync(TestContext.Current.CancellationToken);
        var options = new DbContextOptionsBuilder<NotesContext>().UseSqlite(sqlite);
        options.AddTenantRouting(new SetSearchPathOnOpen(Options.Create(new TenancyOptions())));

        // Refused as the context is built, before it can touch any data.
        var refused = Assert.Throws<NotSupportedException>(() => new NotesContext(options.Options));
        Assert.Contains("PostgreSQL", refused.Message, StringComparison.Ordinal);
        Assert.Contains("Sqlite", refused.Message, StringComparison.Ordinal);

        // The same model without tenant routing works on SQLite: the refusal is ours, not SQLite failing.
        await using var plain = new NotesContext(new DbContextOptionsBuilder<NotesContext>().UseSqlite(sqlite).Options);
        await plain.Database.EnsureCreatedAsync(TestContext.Current.CancellationToken);
        Assert.Equal(0, await plain.Notes.CountAsync(TestContext.Current.CancellationToken));
    }

    [Fact]
    public void Disabling_the_pool_reset_is_refused()
    {
        var refused = Assert.Throws<NotSupportedException>(() => new TenantDataSource(
            new NpgsqlConnectionStringBuilder { Host = "127.0.0.1", NoResetOnClose = true }.ConnectionString,
            new SetSearchPathOnOpen(Options.Create(new TenancyOptions())),
            Options.Create(new TenancyOptions())));
        Assert.Contains("No Reset On Close", refused.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Multiplexing_is_refused()
    {
        var refused = Assert.Throws<NotSupportedException>(() => new TenantDataSource(
            new NpgsqlConnectionStringBuilder { Host = "127.0.0.1", Multiplexing = true }.ConnectionString,
            new SetSearchPathOnOpen(Options.Create(new TenancyOptions())),
            Options.Create(new TenancyOptions())));
        Assert.Contains("Multiplexing", refused.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("public")]
    [InlineData("pg_shared")]
    [InlineData("Shared")]
    [InlineData("")]
    public void An_invalid_shared_schema_name_is_refused_at_startup(string shared)
    {
        var services = new Microsoft.Extensions.DependencyInjection.ServiceCollection()
            .AddTenancy("Host=127.0.0.1", o => o.SharedSchema = shared);
        using var provider = Microsoft.Extensions.DependencyInjection.ServiceCollectionContainerBuilderExtensions.BuildServiceProvider(services);
        var refused = Assert.Throws<OptionsValidationException>(() =>
            Microsoft.Extensions.DependencyInjection.ServiceProviderServiceExtensions.GetRequiredService<IOptions<TenancyOptions>>(provider).Value);
        Assert.Contains("SharedSchema", refused.Message, StringComparison.Ordinal);
    }
}
