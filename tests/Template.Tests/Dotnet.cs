using System.Diagnostics;
using System.Text;

namespace Template.Tests;

/// <summary>Runs the dotnet CLI as a user would, with the output kept for the failure message.</summary>
internal static class Dotnet
{
    public static async Task<string> RunAsync(string workingDirectory, TimeSpan timeout, params string[] args)
    {
        var start = new ProcessStartInfo("dotnet")
        {
            WorkingDirectory = workingDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (string arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        // A clean CLI: nothing of this test host's own test platform or build leaks into the child.
        foreach (string key in start.Environment.Keys.Where(k => k.StartsWith("TESTINGPLATFORM", StringComparison.OrdinalIgnoreCase) || k.StartsWith("MSBUILD", StringComparison.OrdinalIgnoreCase) || k.StartsWith("VSTEST", StringComparison.OrdinalIgnoreCase)).ToList())
        {
            start.Environment.Remove(key);
        }

        start.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        start.Environment["DOTNET_NOLOGO"] = "1";

        var output = new StringBuilder();
        using var process = new Process { StartInfo = start };
        process.OutputDataReceived += (_, e) => Append(output, e.Data);
        process.ErrorDataReceived += (_, e) => Append(output, e.Data);
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        using var limit = CancellationTokenSource.CreateLinkedTokenSource(TestContext.Current.CancellationToken);
        limit.CancelAfter(timeout);
        try
        {
            await process.WaitForExitAsync(limit.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"dotnet {string.Join(' ', args)} ran over {timeout}:\n{Tail(output)}");
        }

        process.WaitForExit(); // flushes the redirected output
        Assert.True(process.ExitCode == 0, $"dotnet {string.Join(' ', args)} exited {process.ExitCode}:\n{Tail(output)}");
        return output.ToString();
    }

    private static void Append(StringBuilder output, string? line)
    {
        if (line is not null)
        {
            lock (output)
            {
                output.AppendLine(line);
            }
        }
    }

    /// <summary>The end of the output, after every failed test's line and error (a long log hides them otherwise).</summary>
    private static string Tail(StringBuilder output)
    {
        string text = output.ToString();
        string[] lines = text.Split('\n');
        IEnumerable<string> failures = lines
            .Select((line, i) => (line, i))
            .Where(l => l.line.TrimStart().StartsWith("failed ", StringComparison.Ordinal))
            .SelectMany(l => lines.Skip(l.i).Take(8));
        return string.Join('\n', failures) + "\n...\n" + (text.Length <= 6000 ? text : text[^6000..]);
    }
}
