using System.Text.Json;
using System.Text.RegularExpressions;

namespace Template.Tests;

/// <summary>
/// Generated solutions, one option combination each: every one builds with warnings as errors and is formatted;
/// one runs its own tests. A combination per test class would build in parallel on two cores; one after the other is
/// no slower and far steadier.
/// </summary>
public sealed partial class GeneratedSolutionTests(TemplateFixture template)
{
    private static readonly TimeSpan Build = TimeSpan.FromMinutes(10);

    [Fact]
    public async Task Default_options_from_the_folder_restore_build_clean_and_rename_every_Saas()
    {
        (string dir, string output) = await template.GenerateAsync(template.FolderHive, "Acme");
        Assert.Contains("Restore succeeded", output, StringComparison.Ordinal); // the post-action, not skipped

        AssertRenamed(dir, "Acme");
        Assert.True(File.Exists(Path.Combine(dir, "Acme.sln")));
        Assert.True(File.Exists(Path.Combine(dir, "Api", "Apis", "ArticlesApi.cs")));
        Assert.True(File.Exists(Path.Combine(dir, "Worker", "Jobs", "ArticleStatsJob.cs")));
        Assert.False(Directory.Exists(Path.Combine(dir, "tests", "Template.Tests"))); // the template's own test stays here
        Assert.Equal(["claim", "route", "host", "header"], Strategies(dir));
        Assert.Equal("shared", Tenancy(dir, "Api").GetProperty("SharedSchema").GetString());

        // The README opens with the two commands and speaks of this app: its Api's own port, no template section.
        string readme = await File.ReadAllTextAsync(Path.Combine(dir, "README.md"), TestContext.Current.CancellationToken);
        Assert.Contains("dotnet run --project AppHost", readme, StringComparison.Ordinal);
        Assert.Contains("dotnet test", readme, StringComparison.Ordinal);
        Assert.DoesNotContain("Use it as a template", readme, StringComparison.Ordinal);
        Assert.DoesNotContain("#if", readme, StringComparison.Ordinal);
        Assert.Contains($"{ApiUrl(dir)}/tenants", readme, StringComparison.Ordinal);
        Assert.Contains("/articles", readme, StringComparison.Ordinal);

        await BuildCleanAsync(dir, "Acme.sln");
    }

    [Fact]
    public async Task Without_the_sample_header_first_and_shared_schema_core_it_builds_and_its_own_tests_pass()
    {
        (string dir, _) = await template.GenerateAsync(template.FolderHive, "Globex", "--includeSample", "false", "--strategy", "header", "--sharedSchema", "core", "--skipRestore");

        AssertRenamed(dir, "Globex");
        Assert.False(File.Exists(Path.Combine(dir, "Api", "Apis", "ArticlesApi.cs")));
        Assert.False(Directory.Exists(Path.Combine(dir, "Data", "Migrations")));
        Assert.False(Directory.Exists(Path.Combine(dir, "Worker", "Jobs")));
        Assert.True(File.Exists(Path.Combine(dir, "Api", "Apis", "CurrentTenantApi.cs")));
        Assert.Equal(["header", "claim", "route", "host"], Strategies(dir));
        Assert.Equal("core", Tenancy(dir, "Api").GetProperty("SharedSchema").GetString());
        Assert.Equal("core", Tenancy(dir, "Worker").GetProperty("SharedSchema").GetString());
        Assert.DoesNotContain("/articles", await File.ReadAllTextAsync(Path.Combine(dir, "README.md"), TestContext.Current.CancellationToken), StringComparison.Ordinal);

        await BuildCleanAsync(dir, "Globex.sln");

        // Its own tests, exactly as its README says to run them.
        string tests = await Dotnet.RunAsync(dir, TimeSpan.FromMinutes(25), "test", "--no-build");
        Match summary = TotalsRegex().Match(tests);
        Assert.True(summary.Success, tests);
        Assert.True(int.Parse(summary.Groups["total"].Value, System.Globalization.CultureInfo.InvariantCulture) > 50, summary.Value);
        Assert.Equal("0", summary.Groups["failed"].Value);
    }

    [Fact]
    public async Task From_the_package_without_the_job_and_route_first_it_builds_clean()
    {
        (string dir, _) = await template.GenerateAsync(template.PackageHive, "Initech", "--includeJob", "false", "--strategy", "route", "--skipRestore");

        AssertRenamed(dir, "Initech");
        Assert.True(File.Exists(Path.Combine(dir, "Api", "Apis", "ArticlesApi.cs")));
        Assert.False(Directory.Exists(Path.Combine(dir, "Worker", "Jobs")));
        Assert.Equal(["route", "claim", "host", "header"], Strategies(dir));
        Assert.True(File.Exists(Path.Combine(dir, ".ci", "run")));
        Assert.True(File.Exists(Path.Combine(dir, ".editorconfig")));

        await BuildCleanAsync(dir, "Initech.sln");
    }

    /// <summary>Builds with warnings as errors, then checks formatting, as the generated CI does.</summary>
    private static async Task BuildCleanAsync(string dir, string solution)
    {
        await Dotnet.RunAsync(dir, Build, "build", solution, "-warnaserror", "-nologo", "-v:q", "-nodeReuse:false");
        await Dotnet.RunAsync(dir, Build, "format", solution, "--verify-no-changes", "--no-restore");
    }

    /// <summary>No file name and no text (bar package locks, copied as they are) still says Saas, in any case.</summary>
    private static void AssertRenamed(string dir, string name)
    {
        string[] files =
        [
            .. Directory.GetFiles(dir, "*", SearchOption.AllDirectories)
                .Select(f => Path.GetRelativePath(dir, f))
                .Where(f => !f.Split('/').Any(part => part is "bin" or "obj")),
        ];
        Assert.Contains(Path.Combine("Api", $"{name}.Api.csproj"), files);
        Assert.DoesNotContain(files, f => f.Contains("saas", StringComparison.OrdinalIgnoreCase));
        foreach (string file in files.Where(f => !f.EndsWith(".png", StringComparison.Ordinal)))
        {
            string text = File.ReadAllText(Path.Combine(dir, file));
            Assert.False(text.Contains("Saas", StringComparison.Ordinal) || text.Contains("saas", StringComparison.Ordinal), $"{file} still says Saas");
        }
    }

    private static string[] Strategies(string dir) =>
        [.. Tenancy(dir, "Api").GetProperty("Resolution").GetProperty("Strategies").EnumerateArray().Select(s => s.GetString()!)];

    private static JsonElement Tenancy(string dir, string project) =>
        JsonDocument.Parse(File.ReadAllText(Path.Combine(dir, project, "appsettings.json")), new JsonDocumentOptions { CommentHandling = JsonCommentHandling.Skip })
            .RootElement.GetProperty("Tenancy");

    private static string ApiUrl(string dir) =>
        JsonDocument.Parse(File.ReadAllText(Path.Combine(dir, "Api", "Properties", "launchSettings.json")))
            .RootElement.GetProperty("profiles").GetProperty("http").GetProperty("applicationUrl").GetString()!;

    [GeneratedRegex(@"total: (?<total>\d+)\s+failed: (?<failed>\d+)")]
    private static partial Regex TotalsRegex();
}
