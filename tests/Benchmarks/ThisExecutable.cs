using System.Diagnostics;
using System.Reflection;

namespace Benchmarks;

/// <summary>This benchmark executable, started again as a child process with other arguments.</summary>
internal static class ThisExecutable
{
    /// <summary>
    /// How to start this executable with <paramref name="arguments"/>, its standard output read by the parent: the same
    /// executable, whether launched through its apphost or as <c>dotnet Benchmarks.dll</c>.
    /// </summary>
    public static ProcessStartInfo With(IEnumerable<string> arguments)
    {
        string host = Environment.ProcessPath ?? throw new InvalidOperationException("No process path.");
        var start = new ProcessStartInfo(host) { RedirectStandardOutput = true, UseShellExecute = false };
        if (Path.GetFileNameWithoutExtension(host) == "dotnet")
        {
            start.ArgumentList.Add(Assembly.GetEntryAssembly()!.Location);
        }

        foreach (string argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        return start;
    }
}
