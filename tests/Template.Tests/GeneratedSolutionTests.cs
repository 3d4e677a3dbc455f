using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace Template.Tests;

/// <summary>
/// Generated solutions, one name each, with the options spread over them: every one builds with warnings as errors
/// and is formatted; a dotted and a dashed one run their own tests. A name per test class would build in parallel on
/// two cores; one after the other is no slower and far steadier.
/// </summary>
public sealed partial class GeneratedSolutionTests(TemplateFixture template)
{
    private static readonly TimeSpan Build = TimeSpan.FromMinutes(10);

    [Fact]
    public async Task Acme_with_the_defaults_from_the_folder_restores_builds_clean_and_speaks_of_itself()
    {
        (string dir, string output) = await template.GenerateAsync(template.FolderHive, "Acme");
        Assert.Contains("Restore succeeded", output, StringComparison.Ordinal); // the post-action, not skipped

        AssertNamed(dir, "Acme");
        Assert.True(File.Exists(Path.Combine(dir, "Api", "Apis", "ArticlesApi.cs")));
        Assert.True(File.Exists(Path.Combine(dir, "Data", "Model", "Article.cs")));
        Assert.True(File.Exists(Path.Combine(dir, "Worker", "Jobs", "ArticleStatsJob.cs")));
        Assert.False(Directory.Exists(Path.Combine(dir, "tests", "Template.Tests"))); // the template's own test stays here
        Assert.Equal(["claim", "route", "host", "header"], Strategies(dir));
        Assert.Equal("shared", Tenancy(dir, "Api").GetProperty("SharedSchema").GetString());

        // The README opens with the app's name and the two commands, and speaks of this app: its Api's own port, no
        // template section.
        string readme = await File.ReadAllTextAsync(Path.Combine(dir, "README.md"), TestContext.Current.CancellationToken);
        Assert.StartsWith("# Acme\n", readme, StringComparison.Ordinal);
        Assert.Contains("dotnet run --project AppHost", readme, StringComparison.Ordinal);
        Assert.Contains("dotnet test", readme, StringComparison.Ordinal);
        Assert.DoesNotContain("Use it as a template", readme, StringComparison.Ordinal);
        Assert.DoesNotContain("#if", readme, StringComparison.Ordinal);
        Assert.Contains($"{ApiUrl(dir)}/tenants", readme, StringComparison.Ordinal);
        Assert.Contains("/articles", readme, StringComparison.Ordinal);

        await BuildCleanAsync(dir);
    }

    [Fact]
    public async Task Contoso_Billing_dotted_with_the_defaults_from_the_package_builds_clean_and_its_own_tests_pass()
    {
        (string dir, _) = await template.GenerateAsync(template.PackageHive, "Contoso.Billing", "--skipRestore");

        AssertNamed(dir, "Contoso.Billing");
        Assert.True(File.Exists(Path.Combine(dir, "Api", "Apis", "ArticlesApi.cs")));
        Assert.True(File.Exists(Path.Combine(dir, "Worker", "Jobs", "ArticleStatsJob.cs")));
        Assert.True(File.Exists(Path.Combine(dir, ".github", "workflows", "ci.yml")));
        Assert.True(File.Exists(Path.Combine(dir, ".editorconfig")));

        await BuildCleanAsync(dir);
        await RunItsOwnTestsAsync(dir);
    }

    [Fact]
    public async Task My_app_dashed_without_the_sample_header_first_and_shared_schema_core_builds_passes_its_tests_and_adds_a_migration()
    {
        (string dir, _) = await template.GenerateAsync(template.FolderHive, "my-app", "--includeSample", "false", "--strategy", "header", "--sharedSchema", "core", "--skipRestore");

        AssertNamed(dir, "my-app");
        Assert.False(File.Exists(Path.Combine(dir, "Api", "Apis", "ArticlesApi.cs")));
        Assert.False(Directory.Exists(Path.Combine(dir, "Data", "Migrations")));
        Assert.False(Directory.Exists(Path.Combine(dir, "Data", "Model")));
        Assert.False(Directory.Exists(Path.Combine(dir, "Worker", "Jobs")));
        Assert.True(File.Exists(Path.Combine(dir, "Api", "Apis", "CurrentTenantApi.cs")));
        Assert.Equal(["header", "claim", "route", "host"], Strategies(dir));
        Assert.Equal("core", Tenancy(dir, "Api").GetProperty("SharedSchema").GetString());
        Assert.Equal("core", Tenancy(dir, "Worker").GetProperty("SharedSchema").GetString());
        string readme = await File.ReadAllTextAsync(Path.Combine(dir, "README.md"), TestContext.Current.CancellationToken);
        Assert.DoesNotContain("/articles", readme, StringComparison.Ordinal);

        await BuildCleanAsync(dir);
        await RunItsOwnTestsAsync(dir);

        // The first migration, with exactly the commands its README gives.
        string[] commands = [.. MigrationCommandRegex().Matches(readme).Select(m => m.Value)];
        Assert.Equal(["dotnet tool restore", "dotnet ef migrations add AddInvoices --project Data"], commands);
        await Dotnet.RunAsync(dir, TemplateFixture.Quick, "tool", "restore");
        await Dotnet.RunAsync(dir, Build, "ef", "migrations", "add", "AddInvoices", "--project", "Data");
        string[] migrations = [.. Directory.GetFiles(Path.Combine(dir, "Data", "Migrations")).Select(f => Path.GetFileName(f)).Order(StringComparer.Ordinal)];
        Assert.Equal(3, migrations.Length);
        Assert.Matches(@"^\d{14}_AddInvoices\.Designer\.cs$", migrations[0]);
        Assert.Matches(@"^\d{14}_AddInvoices\.cs$", migrations[1]);
        Assert.Equal("AppDbContextModelSnapshot.cs", migrations[2]);
        Assert.Contains("namespace my_app.Data.Migrations", await File.ReadAllTextAsync(Path.Combine(dir, "Data", "Migrations", migrations[1]), TestContext.Current.CancellationToken), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Acme_in_lower_case_from_the_package_without_the_job_and_route_first_builds_clean()
    {
        (string dir, _) = await template.GenerateAsync(template.PackageHive, "acme", "--includeJob", "false", "--strategy", "route", "--skipRestore");

        AssertNamed(dir, "acme");
        Assert.True(File.Exists(Path.Combine(dir, "Api", "Apis", "ArticlesApi.cs")));
        Assert.False(Directory.Exists(Path.Combine(dir, "Worker", "Jobs")));
        Assert.Equal(["route", "claim", "host", "header"], Strategies(dir));

        await BuildCleanAsync(dir);
    }

    [Fact]
    public async Task Saas2_which_contains_the_source_name_and_host_first_builds_clean()
    {
        (string dir, _) = await template.GenerateAsync(template.FolderHive, "Saas2", "--strategy", "host", "--skipRestore");

        AssertNamed(dir, "Saas2");
        Assert.Equal(["host", "claim", "route", "header"], Strategies(dir));

        await BuildCleanAsync(dir);
    }

    [Fact]
    public async Task A_long_dotted_name_without_the_sample_builds_clean()
    {
        (string dir, _) = await template.GenerateAsync(template.FolderHive, "Northwind.Traders.Billing.Platform", "--includeSample", "false", "--skipRestore");

        AssertNamed(dir, "Northwind.Traders.Billing.Platform");
        Assert.False(Directory.Exists(Path.Combine(dir, "Data", "Migrations")));

        await BuildCleanAsync(dir);
    }

    /// <summary>Builds with warnings as errors, then checks formatting, as the generated CI does.</summary>
    private static async Task BuildCleanAsync(string dir)
    {
        string solution = Path.GetFileName(Directory.GetFiles(dir, "*.sln").Single());
        await Dotnet.RunAsync(dir, Build, "build", solution, "-warnaserror", "-nologo", "-v:q", "-nodeReuse:false");
        await Dotnet.RunAsync(dir, Build, "format", solution, "--verify-no-changes", "--no-restore");
    }

    /// <summary>Its own tests, exactly as its README says to run them.</summary>
    private static async Task RunItsOwnTestsAsync(string dir)
    {
        string tests = await Dotnet.RunAsync(dir, TimeSpan.FromMinutes(25), "test", "--no-build");
        Match summary = TotalsRegex().Match(tests);
        Assert.True(summary.Success, tests);
        Assert.True(int.Parse(summary.Groups["total"].Value, CultureInfo.InvariantCulture) > 50, summary.Value);
        Assert.Equal("0", summary.Groups["failed"].Value);
    }

    /// <summary>
    /// The name is in every place in the form that place needs (template.json's name symbols), and nothing still says
    /// Saas: no file name, and no text bar the name's own forms (package locks and images are copied as they are).
    /// </summary>
    private static void AssertNamed(string dir, string name)
    {
        NameForms forms = NameForms.Of(name);
        string[] files =
        [
            .. Directory.GetFiles(dir, "*", SearchOption.AllDirectories)
                .Select(f => Path.GetRelativePath(dir, f))
                .Where(f => !f.Split('/').Any(part => part is "bin" or "obj")),
        ];
        Assert.Contains(Path.Combine("Api", $"{name}.Api.csproj"), files);
        Assert.Contains($"{name}.sln", files);
        Assert.DoesNotContain(files, f => f.Replace(name, string.Empty, StringComparison.Ordinal).Contains("saas", StringComparison.OrdinalIgnoreCase));
        foreach (string file in files.Where(f => !f.EndsWith(".png", StringComparison.Ordinal)))
        {
            string text = forms.All.Aggregate(File.ReadAllText(Path.Combine(dir, file)), (t, form) => t.Replace(form, string.Empty, StringComparison.OrdinalIgnoreCase));
            Assert.False(text.Contains("Saas", StringComparison.Ordinal) || text.Contains("saas", StringComparison.Ordinal) || text.Contains("SAAS", StringComparison.Ordinal), $"{file} still says Saas");
        }

        // Solution entries: each names a project file that exists, by that file's name.
        string solution = File.ReadAllText(Path.Combine(dir, $"{name}.sln"));
        MatchCollection projects = SolutionProjectRegex().Matches(solution);
        Assert.NotEmpty(projects);
        foreach (Match project in projects)
        {
            string path = project.Groups["path"].Value.Replace('\\', '/');
            Assert.True(File.Exists(Path.Combine(dir, path)), $"{name}.sln lists {path}, which is not there");
            Assert.Equal(Path.GetFileNameWithoutExtension(path), project.Groups["name"].Value);
        }

        string appHost = File.ReadAllText(Path.Combine(dir, "AppHost", "AppHost.cs"));
        Assert.Contains($"Projects.{forms.Aspire}_Api", appHost, StringComparison.Ordinal);
        Assert.Contains($"Projects.{forms.Aspire}_Worker", appHost, StringComparison.Ordinal);
        Assert.Contains($"namespace {forms.Namespace}.Api.Apis;", File.ReadAllText(Path.Combine(dir, "Api", "Apis", "TenantsApi.cs")), StringComparison.Ordinal);

        // PostgreSQL names stay unquoted identifiers, the URN's namespace a valid one.
        string database = File.ReadAllText(Path.Combine(dir, "AppHost", "Postgres", "PostgresResourceExtensions.cs"));
        foreach ((string setting, string suffix) in ((string, string)[])[("AppRole", "app"), ("OwnerRole", "owner")])
        {
            string role = Regex.Match(database, $"\"Postgres:{setting}\"\\] \\?\\? \"(?<role>[^\"]+)\"").Groups["role"].Value;
            Assert.Equal($"{forms.Identifier}_{suffix}", role);
            Assert.Matches("^[a-z_][a-z0-9_]{0,62}$", role);
        }

        string channel = Regex.Match(File.ReadAllText(Path.Combine(dir, "Tenants.Shared", "Catalog", "CatalogChannels.cs")), "Registered = \"(?<channel>[^\"]+)\"").Groups["channel"].Value;
        Assert.Matches("^[a-z_][a-z0-9_]{0,62}$", channel);
        Assert.Contains($"\"urn:{forms.Slug}:problem:\"", File.ReadAllText(Path.Combine(dir, "Api", "Tenancy", "TenantProblems.cs")), StringComparison.Ordinal);
        Assert.Matches("^[a-z0-9][a-z0-9-]{0,31}$", forms.Slug);

        AssertShipsOnlyTheApp(dir, files);
    }

    /// <summary>
    /// The app's code, tests, README and architecture page, and nothing of the template's own: no benchmarks, design
    /// history, contributor notes or CI script, and no text that names this repository's commits or its notes.
    /// </summary>
    private static void AssertShipsOnlyTheApp(string dir, string[] files)
    {
        Assert.True(File.Exists(Path.Combine(dir, "docs", "architecture.md")));
        Assert.True(File.Exists(Path.Combine(dir, "README.md")));
        string[] templateOnly = ["BENCHMARKS.md", "DESIGN-NOTES.md", "DEVELOPERS.md", ".ci/", "tests/Benchmarks/", "tests/Template.Tests/", ".template.config/"];
        Assert.DoesNotContain(files, f => templateOnly.Any(t => f == t || f.StartsWith(t, StringComparison.Ordinal)));

        HashSet<string> commits = RepositoryCommits();
        foreach (string file in files.Where(f => !f.EndsWith(".png", StringComparison.Ordinal)))
        {
            string text = File.ReadAllText(Path.Combine(dir, file));
            Assert.False(NotesRegex().IsMatch(text), $"{file} cites the template's notes or issues: {NotesRegex().Match(text).Value}");
            string? commit = HexWordRegex().Matches(text).Select(m => m.Value).FirstOrDefault(w => commits.Any(c => c.StartsWith(w, StringComparison.Ordinal)));
            Assert.True(commit is null, $"{file} names commit {commit} of the template's repository");
        }
    }

    /// <summary>Every commit id of the template's repository (the tests run from a clone of it).</summary>
    private static HashSet<string> RepositoryCommits()
    {
        var git = new System.Diagnostics.ProcessStartInfo("git", ["-C", TemplateFixture.FindRoot(), "rev-list", "--all"]) { RedirectStandardOutput = true };
        using System.Diagnostics.Process process = System.Diagnostics.Process.Start(git)!;
        string[] ids = process.StandardOutput.ReadToEnd().Split('\n', StringSplitOptions.RemoveEmptyEntries);
        process.WaitForExit();
        Assert.True(process.ExitCode == 0 && ids.Length > 0, "the template's commits could not be listed");
        return [.. ids];
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

    [GeneratedRegex(@"= ""(?<name>[^""]+)"", ""(?<path>[^""]+\.csproj)""")]
    private static partial Regex SolutionProjectRegex();

    [GeneratedRegex(@"DESIGN(-NOTES)?\.md|BENCHMARKS\.md|DEVELOPERS\.md|\bissues? #\d+|\(issue\b", RegexOptions.IgnoreCase)]
    private static partial Regex NotesRegex();

    [GeneratedRegex(@"\b[0-9a-f]{7,40}\b")]
    private static partial Regex HexWordRegex();

    [GeneratedRegex(@"^dotnet (tool restore|ef migrations add .*)$", RegexOptions.Multiline)]
    private static partial Regex MigrationCommandRegex();
}
