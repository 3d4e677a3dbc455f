using Tenants.Shared.Security;

namespace Tenants.Shared.Tests;

public sealed class TenantRoleNamesTests
{
    [Fact]
    public void A_short_name_is_the_prefix_then_the_tenant() =>
        Assert.Equal("tenant_acme", TenantRoleNames.NameFor("acme", "tenant_"));

    [Fact]
    public void A_shortened_name_fits_in_63_bytes_and_is_never_a_tenants_plain_role_name()
    {
        string shortened = TenantRoleNames.NameFor(new string('a', 60), "tenant_");
        Assert.Equal(TenantNames.MaxBytes, shortened.Length);

        // What follows the prefix holds a '~', which no tenant name can: no tenant's role is spelled this way.
        Assert.Contains('~', shortened);
        Assert.NotNull(TenantNames.Problem(shortened["tenant_".Length..], "shared"));
    }

    [Fact]
    public void Long_names_that_share_their_start_get_different_roles()
    {
        string start = new('a', 56);
        Assert.NotEqual(TenantRoleNames.NameFor(start + "_one", "tenant_"), TenantRoleNames.NameFor(start + "_two", "tenant_"));
    }
}
