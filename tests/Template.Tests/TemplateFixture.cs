[assembly: AssemblyFixture(typeof(Template.Tests.TemplateFixture))]

namespace Template.Tests;

/// <summary>
/// The template installed twice, each into a throwaway template hive of its own (the user's template list is never
/// touched): once from the repository folder, once from the packed .nupkg. Everything lives in one temporary
/// directory that is removed at the end, after both are uninstalled.
/// </summary>
public sealed class TemplateFixture : IAsyncLifetime
{
    public static readonly TimeSpan Quick = TimeSpan.FromMinutes(3);

    public string Root { get; } = FindRoot();

    public string Work { get; } = Path.Combine(Path.GetTempPath(), $"tenant-saas-template-{Guid.NewGuid():N}");

    public string FolderHive => Path.Combine(Work, "hive-folder");

    public string PackageHive => Path.Combine(Work, "hive-package");

    public string Package { get; private set; } = string.Empty;

    public async ValueTask InitializeAsync()
    {
        Directory.CreateDirectory(Work);
        await Dotnet.RunAsync(Work, Quick, "new", "install", Root, "--debug:custom-hive", FolderHive);

        string packages = Path.Combine(Work, "packages");
        await Dotnet.RunAsync(Work, Quick, "pack", Path.Combine(Root, ".template.config", "pack"), "-o", packages, "-nologo", "-v:q");
        Package = Directory.GetFiles(packages, "TenantSaas.Templates.*.nupkg").Single();
        await Dotnet.RunAsync(Work, Quick, "new", "install", Package, "--debug:custom-hive", PackageHive);
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            await Dotnet.RunAsync(Work, Quick, "new", "uninstall", Root, "--debug:custom-hive", FolderHive);
            await Dotnet.RunAsync(Work, Quick, "new", "uninstall", "TenantSaas.Templates", "--debug:custom-hive", PackageHive);
        }
        finally
        {
            Directory.Delete(Work, recursive: true);
        }
    }

    /// <summary>Runs <c>dotnet new tenant-saas -n NAME [options]</c> from a hive; returns the generated directory.</summary>
    public async Task<(string Directory, string Output)> GenerateAsync(string hive, string name, params string[] options)
    {
        string directory = Path.Combine(Work, name);
        string output = await Dotnet.RunAsync(Work, TimeSpan.FromMinutes(5), ["new", "tenant-saas", "-n", name, "-o", directory, "--debug:custom-hive", hive, .. options]);
        return (directory, output);
    }

    public static string FindRoot()
    {
        for (DirectoryInfo? d = new(AppContext.BaseDirectory); d is not null; d = d.Parent)
        {
            if (File.Exists(Path.Combine(d.FullName, ".template.config", "template.json")))
            {
                return d.FullName;
            }
        }

        throw new InvalidOperationException("The template's root (.template.config/template.json) is not above the test's directory.");
    }
}
