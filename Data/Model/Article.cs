namespace Saas.Data.Model;

/// <summary>The sample per-tenant entity: it lives in each tenant's own schema.</summary>
public sealed class Article
{
    public const int TitleMaxLength = 200;
    public const int BodyMaxLength = 20_000;

    public long Id { get; set; }

    public required string Title { get; set; }

    public required string Body { get; set; }

    public DateTimeOffset CreatedAt { get; set; }

    public DateTimeOffset UpdatedAt { get; set; }
}
