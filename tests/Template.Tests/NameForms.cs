using System.Text.RegularExpressions;

namespace Template.Tests;

/// <summary>The forms of a name that template.json's name symbols write, computed here to check a generated app by.</summary>
internal sealed partial record NameForms(string Name, string Namespace, string Aspire, string Identifier, string Slug)
{
    /// <summary>Every form, for taking the name out of a text (the environment prefix is the identifier upper-cased).</summary>
    public IEnumerable<string> All => [Name, Namespace, Aspire, Identifier, Slug];

    public static NameForms Of(string name)
    {
        string lower = name.ToLowerInvariant();
        string identifier = IdentifierStartRegex().Replace(NotIdentifierRegex().Replace(lower, "_"), "_");
        string slug = NotSlugRegex().Replace(lower, "-").Trim('-');
        return new(
            name,
            NamespaceRegex().Replace(name, "_"),
            AspireRegex().Replace(name, "_"),
            identifier[..Math.Min(identifier.Length, 52)],
            slug[..Math.Min(slug.Length, 32)].Trim('-'));
    }

    /// <summary>The template engine's safe_namespace form, for the names tested here.</summary>
    [GeneratedRegex(@"(((?<=\.)|^)(?=\d)|[^\w.])")]
    private static partial Regex NamespaceRegex();

    /// <summary>What Aspire's AppHost targets do to a project file's name to make its Projects type.</summary>
    [GeneratedRegex(@"(((?<=\.)|^)(?=\d)|\W)")]
    private static partial Regex AspireRegex();

    [GeneratedRegex("[^a-z0-9_]")]
    private static partial Regex NotIdentifierRegex();

    [GeneratedRegex("^(?=[0-9])")]
    private static partial Regex IdentifierStartRegex();

    [GeneratedRegex("[^a-z0-9]+")]
    private static partial Regex NotSlugRegex();
}
