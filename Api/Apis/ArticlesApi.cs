using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.EntityFrameworkCore;
using Saas.Api.Model;
using Saas.Api.Tenancy;
using Saas.Data;
using Saas.Data.Model;

namespace Saas.Api.Apis;

/// <summary>The sample per-tenant domain. Handlers never see a tenant name: the request's TenantContext routes them.</summary>
public static class ArticlesApi
{
    public const int MaxPageSize = 100;

    public static IEndpointRouteBuilder MapArticlesApi(this IEndpointRouteBuilder app)
    {
        // The same endpoints by claim, host or header (/articles) and by route (/t/{tenant}/articles).
        MapArticles(app.MapGroup("/articles"));
        MapArticles(app.MapGroup("/t/{tenant}/articles"));
        return app;
    }

    private static void MapArticles(RouteGroupBuilder group)
    {
        group.RequireTenant().WithTags("Articles");
        group.MapGet("/", ListAsync);
        group.MapGet("/{id:long}", GetAsync);
        group.MapPost("/", CreateAsync);
        group.MapPut("/{id:long}", UpdateAsync);
        group.MapDelete("/{id:long}", DeleteAsync);
    }

    public static async Task<Results<Ok<PagedResult<ArticleResponse>>, ValidationProblem>> ListAsync(
        AppDbContext db, CancellationToken cancellationToken, int page = 1, int pageSize = 20)
    {
        var errors = new Dictionary<string, string[]>();
        if (page < 1)
        {
            errors["page"] = ["page starts at 1."];
        }

        if (pageSize is < 1 or > MaxPageSize)
        {
            errors["pageSize"] = [$"pageSize is between 1 and {MaxPageSize}."];
        }

        if (errors.Count > 0)
        {
            return TypedResults.ValidationProblem(errors);
        }

        long total = await db.Articles.LongCountAsync(cancellationToken);
        List<ArticleResponse> items = await db.Articles.AsNoTracking()
            .OrderBy(a => a.Id)
            .Skip((page - 1) * pageSize)
            .Take(pageSize)
            .Select(a => new ArticleResponse(a.Id, a.Title, a.Body, a.CreatedAt, a.UpdatedAt))
            .ToListAsync(cancellationToken);
        return TypedResults.Ok(new PagedResult<ArticleResponse>(items, page, pageSize, total));
    }

    public static async Task<Results<Ok<ArticleResponse>, NotFound>> GetAsync(long id, AppDbContext db, CancellationToken cancellationToken) =>
        await db.Articles.AsNoTracking().FirstOrDefaultAsync(a => a.Id == id, cancellationToken) is { } article
            ? TypedResults.Ok(ArticleResponse.From(article))
            : TypedResults.NotFound();

    public static async Task<Results<Created<ArticleResponse>, ValidationProblem>> CreateAsync(
        ArticleRequest request, AppDbContext db, HttpContext http, CancellationToken cancellationToken)
    {
        if (Validate(request) is { } errors)
        {
            return TypedResults.ValidationProblem(errors);
        }

        var article = new Article { Title = request.Title!, Body = request.Body! };
        db.Articles.Add(article);
        await db.SaveChangesAsync(cancellationToken);
        return TypedResults.Created($"{http.Request.PathBase}{http.Request.Path.Value?.TrimEnd('/')}/{article.Id}", ArticleResponse.From(article));
    }

    public static async Task<Results<Ok<ArticleResponse>, NotFound, ValidationProblem>> UpdateAsync(
        long id, ArticleRequest request, AppDbContext db, TimeProvider clock, CancellationToken cancellationToken)
    {
        if (Validate(request) is { } errors)
        {
            return TypedResults.ValidationProblem(errors);
        }

        if (await db.Articles.FirstOrDefaultAsync(a => a.Id == id, cancellationToken) is not { } article)
        {
            return TypedResults.NotFound();
        }

        article.Title = request.Title!;
        article.Body = request.Body!;
        article.UpdatedAt = clock.GetUtcNow();
        await db.SaveChangesAsync(cancellationToken);
        return TypedResults.Ok(ArticleResponse.From(article));
    }

    public static async Task<Results<NoContent, NotFound>> DeleteAsync(long id, AppDbContext db, CancellationToken cancellationToken) =>
        await db.Articles.Where(a => a.Id == id).ExecuteDeleteAsync(cancellationToken) == 1
            ? TypedResults.NoContent()
            : TypedResults.NotFound();

    private static Dictionary<string, string[]>? Validate(ArticleRequest request)
    {
        var errors = new Dictionary<string, string[]>();
        if (string.IsNullOrWhiteSpace(request.Title))
        {
            errors["title"] = ["A title is required."];
        }
        else if (request.Title.Length > Article.TitleMaxLength)
        {
            errors["title"] = [$"A title is at most {Article.TitleMaxLength} characters."];
        }

        if (request.Body is null)
        {
            errors["body"] = ["A body is required (it may be empty)."];
        }
        else if (request.Body.Length > Article.BodyMaxLength)
        {
            errors["body"] = [$"A body is at most {Article.BodyMaxLength} characters."];
        }

        return errors.Count > 0 ? errors : null;
    }
}
