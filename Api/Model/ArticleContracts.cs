using Saas.Data.Model;

namespace Saas.Api.Model;

/// <summary>What a client sends to create or replace an article.</summary>
public sealed record ArticleRequest(string? Title, string? Body);

/// <summary>What the Api returns for an article.</summary>
public sealed record ArticleResponse(long Id, string Title, string Body, DateTimeOffset CreatedAt, DateTimeOffset UpdatedAt)
{
    public static ArticleResponse From(Article a) => new(a.Id, a.Title, a.Body, a.CreatedAt, a.UpdatedAt);
}

/// <summary>One page of a list, with what a client needs to fetch the next.</summary>
public sealed record PagedResult<T>(IReadOnlyList<T> Items, int Page, int PageSize, long Total);
