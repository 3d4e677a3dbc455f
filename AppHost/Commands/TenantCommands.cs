using System.Diagnostics;
using System.Reflection;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace Aspire.Hosting.ApplicationModel;

/// <summary>
/// The dashboard's tenant commands on the Worker: each runs the Worker's own command line
/// (<c>dotnet run --project Worker -- tenants ...</c>) with the Worker's environment, so it takes the Worker's connection
/// strings, configuration and code, and reports what that command line prints: its output on success, its one-line
/// error otherwise. Nothing else gets the owner connection string.
/// </summary>
public static class TenantCommands
{
    public const string Add = "tenant-add";
    public const string Migrate = "tenants-migrate";
    public const string Status = "tenants-status";
    public const string Deactivate = "tenant-deactivate";
    public const string Reactivate = "tenant-reactivate";
    public const string Plan = "tenant-plan";

    /// <summary>The argument names the dialogs (and API callers) fill in.</summary>
    public const string NameArgument = "name";
    public const string DisplayNameArgument = "displayName";
    public const string PlanArgument = "plan";

    public static IResourceBuilder<ProjectResource> WithTenantCommands(this IResourceBuilder<ProjectResource> worker)
    {
        ProjectResource resource = worker.Resource;
        worker.WithCommand(
            Add,
            "Add tenant",
            context => RunAsync(resource, ["add", .. DisplayName(context), .. Name(context)], context, Report.None),
            Options(
                "Register a tenant and migrate its schema ('tenants add'), as POST /tenants does.",
                "PersonAdd",
                NameInput("The new tenant's name, also its schema's: a lowercase letter, then lowercase letters, digits and _."),
                TextInput(DisplayNameArgument, "Display name", "Shown to people (default: the name).")));
        worker.WithCommand(
            Migrate,
            "Migrate all tenants now",
            context => RunAsync(resource, ["migrate"], context, Report.Shown),
            Options("Migrate every tenant behind the latest migration now ('tenants migrate'), without waiting for the Worker's next pass.", "ArrowSync"));
        worker.WithCommand(
            Status,
            "Tenant status",
            context => RunAsync(resource, ["status"], context, Report.ShownAndSummed),
            Options("Counts by state, how many are behind, and each failed tenant with its error ('tenants status').", "DataBarVertical"));
        worker.WithCommand(
            Deactivate,
            "Deactivate tenant",
            context => RunAsync(resource, ["deactivate", .. Name(context)], context, Report.None),
            Options("Stop serving a tenant, its data kept ('tenants deactivate'); Reactivate tenant undoes it.", "PersonProhibited", NameInput("The tenant to stop serving.")));
        worker.WithCommand(
            Reactivate,
            "Reactivate tenant",
            context => RunAsync(resource, ["reactivate", .. Name(context)], context, Report.None),
            Options("Serve a deactivated tenant again ('tenants reactivate').", "PersonAvailable", NameInput("The deactivated tenant to serve again.")));
        worker.WithCommand(
            Plan,
            "Change tenant plan",
            context => RunAsync(resource, ["plan", .. Name(context), .. PlanName(context)], context, Report.None),
            Options(
                "Put a tenant on a plan of Tenancy:Plans ('tenants plan'), as PUT /tenants/{name}/plan does; every Api instance applies its limits at once.",
                "Gauge",
                NameInput("The tenant to put on another plan."),
                TextInput(PlanArgument, "Plan", "A plan of Tenancy:Plans (empty: back to the default plan).")));
        return worker;
    }

    private static CommandOptions Options(string description, string icon, params InteractionInput[] arguments) => new()
    {
        Description = description,
        IconName = icon,
        Arguments = arguments,
        // The command line needs the database the Worker uses and the Worker's build, both there once it runs.
        UpdateState = context => context.ResourceSnapshot.State?.Text == KnownResourceStates.Running
            && context.ResourceSnapshot.HealthStatus == HealthStatus.Healthy
                ? ResourceCommandState.Enabled
                : ResourceCommandState.Disabled,
    };

    private static InteractionInput NameInput(string description) => TextInput(NameArgument, "Tenant name", description, required: true);

    private static InteractionInput TextInput(string name, string label, string description, bool required = false) => new()
    {
        Name = name,
        Label = label,
        Description = description,
        InputType = InputType.Text,
        Required = required,
    };

    // Validated by the command line itself (exit 2, nothing changed), the one place that knows the Worker's shared schema;
    // after "--" and with "=", a value starting with '-' is taken as written, not as an option.
    private static string[] Name(ExecuteCommandContext context) => ["--", context.Arguments.GetString(NameArgument) ?? string.Empty];

    // After the name, so after "--" too; left out when empty, as the command line takes no plan to mean the default one.
    private static string[] PlanName(ExecuteCommandContext context) =>
        context.Arguments.GetString(PlanArgument) is { Length: > 0 } plan ? [plan] : [];

    private static string[] DisplayName(ExecuteCommandContext context) =>
        context.Arguments.GetString(DisplayNameArgument) is { Length: > 0 } displayName ? [$"--display-name={displayName}"] : [];

    private static async Task<ExecuteCommandResult> RunAsync(ProjectResource worker, string[] tenantsArguments, ExecuteCommandContext context, Report report)
    {
        CancellationToken cancellationToken = context.CancellationToken;
        IExecutionConfigurationResult configuration = await ExecutionConfigurationBuilder.Create(worker)
            .WithEnvironmentVariablesConfig()
            .BuildAsync(context.Services.GetRequiredService<DistributedApplicationExecutionContext>(), context.Logger, cancellationToken)
            .ConfigureAwait(false);

        // As the AppHost runs the Worker: its project, the AppHost's build configuration, built already.
        string? buildConfiguration = typeof(TenantCommands).Assembly.GetCustomAttribute<AssemblyConfigurationAttribute>()?.Configuration;
        string[] build = buildConfiguration is { Length: > 0 } ? ["--configuration", buildConfiguration] : [];
        var start = new ProcessStartInfo(
            "dotnet",
            ["run", "-v", "q", "--no-build", "--no-launch-profile", "--project", worker.GetProjectMetadata().ProjectPath, .. build, "--", "tenants", .. tenantsArguments])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach ((string name, string value) in configuration.EnvironmentVariables)
        {
            start.Environment[name] = value;
        }

        using Process process = Process.Start(start) ?? throw new InvalidOperationException("dotnet did not start.");
        Task<string> output = process.StandardOutput.ReadToEndAsync(CancellationToken.None);
        Task<string> error = process.StandardError.ReadToEndAsync(CancellationToken.None);
        try
        {
            await process.WaitForExitAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            return CommandResults.Canceled();
        }

        string stdout = (await output.ConfigureAwait(false)).TrimEnd();
        string stderr = (await error.ConfigureAwait(false)).TrimEnd();
        return Result(process.ExitCode, stdout, stderr, report);
    }

    /// <summary>What the dashboard shows of a successful command's output besides its last line.</summary>
    private enum Report
    {
        /// <summary>Its last line only.</summary>
        None,

        /// <summary>Its last line, and all of it in the dashboard's result dialog.</summary>
        Shown,

        /// <summary>All its lines on one line, and all of it in the result dialog.</summary>
        ShownAndSummed,
    }

    /// <summary>Success with the command line's last line (or all of them) as the message, or its error line.</summary>
    private static ExecuteCommandResult Result(int exitCode, string stdout, string stderr, Report report)
    {
        string[] errors = stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        if (exitCode == 0)
        {
            string[] lines = stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
            string summary = report == Report.ShownAndSummed ? string.Join("; ", lines) : lines.LastOrDefault() ?? "done";
            return report == Report.None ? CommandResults.Success(summary) : CommandResults.Success(summary, stdout, CommandResultFormat.Text, displayImmediately: true);
        }

        // The command line's own failure is its 'tenants: ...' line; anything else (dotnet run's) is shown as it came.
        const string Prefix = "tenants: ";
        string message = errors.LastOrDefault(l => l.StartsWith(Prefix, StringComparison.Ordinal)) is { } line
            ? line[Prefix.Length..]
            : errors.LastOrDefault() ?? $"the command line exited with code {exitCode}";
        return stdout.Length > 0 ? CommandResults.Failure(message, stdout, CommandResultFormat.Text) : CommandResults.Failure(message);
    }
}
