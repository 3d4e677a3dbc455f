namespace Tenants.Shared.Tests;

public sealed class HostileNameTests(PostgresFixture postgres) : DatabaseTest(postgres)
{
    [Theory]
    [MemberData(nameof(HostileNames.All), MemberType = typeof(HostileNames))]
    public async Task Hostile_names_are_refused_everywhere_and_create_nothing(string name)
    {
        await Host.Registry.RegisteredTenantsAsync(Cancellation); // bootstrap the catalog first, so it is not counted as new
        HashSet<string> before = await Host.SchemasAsync();

        await Assert.ThrowsAsync<InvalidTenantNameException>(() => Host.Registry.RegisterAsync(name, Cancellation));
        Assert.Throws<InvalidTenantNameException>(() => Host.Tenants.Enter(name));
        await Assert.ThrowsAsync<InvalidTenantNameException>(async () => await Host.Tenants.EnterAsync(name, Cancellation));
        Assert.False(await Host.Registry.IsRegisteredAsync(name, Cancellation));
        Assert.False(Host.Registry.IsRegistered(name));

        Assert.Null(TenantContext.CurrentTenant);
        Assert.Equal(before, await Host.SchemasAsync());
        Assert.Empty(await Host.Registry.RegisteredTenantsAsync(Cancellation));
    }
}
