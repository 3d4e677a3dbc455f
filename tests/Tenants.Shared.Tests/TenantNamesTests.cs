namespace Tenants.Shared.Tests;

public sealed class TenantNamesTests
{
    [Theory]
    [InlineData("a")]
    [InlineData("acme")]
    [InlineData("acme_2")]
    [InlineData("t0")]
    [InlineData("publicity")]
    [InlineData("sharedx")]
    public void Accepts_lowercase_ascii_names(string name) =>
        Assert.Null(TenantNames.Problem(name, "shared"));

    [Fact]
    public void Accepts_exactly_63_bytes_and_rejects_64()
    {
        Assert.Null(TenantNames.Problem("a" + new string('b', 62), "shared"));
        Assert.Contains("63 bytes", TenantNames.Problem("a" + new string('b', 63), "shared"), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("shared")]
    [InlineData("tenants_core")]
    public void Rejects_the_configured_shared_schema(string shared) =>
        Assert.Contains("shared schema", TenantNames.Problem(shared, shared), StringComparison.Ordinal);

    [Fact]
    public void EnsureValid_throws_the_validators_error_with_the_reason()
    {
        var error = Assert.Throws<InvalidTenantNameException>(() => TenantNames.EnsureValid("Acme", "shared"));
        Assert.Equal("Acme", error.TenantName);
        Assert.Contains("lowercase", error.Reason, StringComparison.Ordinal);
        Assert.Equal("name", error.ParamName);
    }

    [Fact]
    public void Error_messages_never_carry_raw_control_characters()
    {
        var error = Assert.Throws<InvalidTenantNameException>(() => TenantNames.EnsureValid("a\nb\u0000c", "shared"));
        Assert.DoesNotContain('\n', error.Message);
        Assert.DoesNotContain('\0', error.Message);
        Assert.Contains("\\u000a", error.Message, StringComparison.Ordinal);
    }
}
