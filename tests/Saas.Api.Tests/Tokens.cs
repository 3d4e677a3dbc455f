using System.Security.Claims;
using System.Security.Cryptography;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace Saas.Api.Tests;

/// <summary>
/// Signs real JWTs the Api validates through its ordinary JwtBearer configuration (Authentication:Schemes:Bearer, the
/// section `dotnet user-jwts` writes), with a key made for this test run.
/// </summary>
public sealed class Tokens
{
    public const string Issuer = "tenant-saas-tests";
    public const string Audience = "tenant-saas-api";

    private readonly byte[] _key = RandomNumberGenerator.GetBytes(32);

    /// <summary>The configuration the Api needs to trust these tokens.</summary>
    public IEnumerable<KeyValuePair<string, string?>> Configuration =>
    [
        new("Authentication:Schemes:Bearer:ValidIssuer", Issuer),
        new("Authentication:Schemes:Bearer:ValidAudiences:0", Audience),
        new("Authentication:Schemes:Bearer:SigningKeys:0:Issuer", Issuer),
        new("Authentication:Schemes:Bearer:SigningKeys:0:Value", Convert.ToBase64String(_key)),
        new("Authentication:Schemes:Bearer:SigningKeys:0:Length", "32"),
    ];

    public string Member(params string[] tenants) => Create(tenants.Select(t => new Claim("tenant", t)));

    public string Admin() => Create([new Claim("role", "admin")]);

    public string NoTenant() => Create([]);

    private string Create(IEnumerable<Claim> claims) => new JsonWebTokenHandler().CreateToken(new SecurityTokenDescriptor
    {
        Issuer = Issuer,
        Audience = Audience,
        Subject = new ClaimsIdentity([new Claim("sub", "test-user"), .. claims]),
        Expires = DateTime.UtcNow.AddHours(1),
        SigningCredentials = new SigningCredentials(new SymmetricSecurityKey(_key), SecurityAlgorithms.HmacSha256),
    });
}
