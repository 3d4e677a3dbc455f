using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace Tenants.Shared.Tests;

public sealed class TenancyOptionsTests
{
    [Fact]
    public void Tenant_roles_are_on_unless_switched_off()
    {
        using ServiceProvider services = new ServiceCollection().AddTenancy("Host=127.0.0.1").BuildServiceProvider();
        Assert.True(services.GetRequiredService<IOptions<TenancyOptions>>().Value.TenantRoles);
    }
}
