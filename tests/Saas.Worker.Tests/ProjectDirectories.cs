namespace Saas.Worker.Tests;

/// <summary>The repository's project folders, found above the test's output: where a real Api or Worker reads its appsettings.json.</summary>
internal static class ProjectDirectories
{
    public static string Api => Find("Api");

    public static string Worker => Find("Worker");

    private static string Find(string project)
    {
        for (DirectoryInfo? d = new(AppContext.BaseDirectory); d is not null; d = d.Parent)
        {
            if (File.Exists(Path.Combine(d.FullName, project, "appsettings.json")))
            {
                return Path.Combine(d.FullName, project);
            }
        }

        throw new InvalidOperationException($"{project}/appsettings.json is not above the test's directory.");
    }
}
