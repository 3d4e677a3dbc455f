using System.CommandLine;
using System.CommandLine.Invocation;
using Microsoft.Extensions.Options;
using Saas.Data;
using Tenants.Shared;
using Tenants.Shared.Capacity;
using Tenants.Shared.Catalog;
using Tenants.Shared.Migrations;
using Tenants.Shared.Offboarding;
using Tenants.Shared.Placement;

namespace Saas.Worker.Commands;

/// <summary>
/// The operators' command line, <c>tenants list | status | add | migrate | deactivate | reactivate | delete | plan | move</c>: its
/// grammar and help, and usage errors as exit code 2 with one line on stderr. Each command runs in a <see cref="CommandHost"/>.
/// </summary>
internal static class TenantCommandLine
{
    public static async Task<int> RunAsync(string[] args)
    {
        // No response files: an argument starting with @ is taken as written.
        ParseResult parse = Grammar().Parse(args, new ParserConfiguration { ResponseFileTokenReplacer = null });
        var invocation = new InvocationConfiguration { EnableDefaultExceptionHandler = false };
        if (parse.Action is ParseErrorAction)
        {
            string name = parse.CommandResult.Command.Name;
            string command = name == "tenants" ? name : $"tenants {name}";
            await invocation.Error.WriteLineAsync($"tenants: {string.Join(' ', parse.Errors.Select(e => e.Message))} See '{command} --help'.");
            return ExitCodes.UsageOrConfiguration;
        }

        return await parse.InvokeAsync(invocation);
    }

    private static RootCommand Grammar()
    {
        var tenants = new Command(
            "tenants",
            "Operate the tenants in the catalog. Needs ConnectionStrings__appdb (and ConnectionStrings__appdb-owner, the schema owner) " +
            "in the environment. Exit codes: 0 done, 1 a tenant failed or was refused, 2 usage or configuration error.");

        var listJson = JsonOption("A JSON array of tenants: the fields of the Api's GET /tenants.");
        var list = new Command("list", "Every tenant in the catalog, deleted ones included: state, status, last migration, display name.") { listJson };
        list.SetAction((parse, ct) => RunAsync(parse, (s, output, _) => Report(s, output).ListAsync(parse.GetValue(listJson), ct), ct));

        var statusJson = JsonOption("A JSON object: latestMigration, registered, pending, ready, failed, deactivated, behind, failures.");
        var status = new Command("status", "Counts by state, how many are behind the latest migration, and each failed tenant with its error.") { statusJson };
        status.SetAction((parse, ct) => RunAsync(parse, (s, output, _) => Report(s, output).StatusAsync(parse.GetValue(statusJson), ct), ct));

        var addName = NameArgument("The new tenant's name (also its schema's): a lowercase letter, then lowercase letters, digits and _.");
        var displayName = new Option<string>("--display-name") { Description = "Its display name (default: the name).", HelpName = "TEXT" };
        var add = new Command("add", "Register a tenant and migrate its schema, as the Api's POST /tenants does. Exit 1 if it is not ready afterwards.") { addName, displayName };
        add.SetAction((parse, ct) => RunAsync(parse, (s, output, _) => Lifecycle(s, output).AddAsync(parse.GetValue(addName)!, parse.GetValue(displayName), ct), ct));

        var only = new Option<string[]>("--tenant")
        {
            Description = "Migrate only this tenant, behind or not (repeat for several). Default: every tenant behind the latest migration.",
            HelpName = "NAME",
            Arity = ArgumentArity.OneOrMore,
        };
        var migrate = new Command("migrate", "Migrate tenants, with progress on stderr and a line per tenant at the end. Exit 1 if any tenant failed.") { only };
        migrate.SetAction((parse, ct) => RunAsync(parse, (s, output, error) =>
            new MigrationReport(Runner(s), s.GetRequiredService<IOptions<TenancyOptions>>(), output, error).MigrateAsync(parse.GetValue(only) is { Length: > 0 } names ? names : null, ct), ct));

        var deactivateName = NameArgument("The tenant to stop serving.");
        var deactivate = new Command("deactivate", "Stop serving a tenant (its requests get 410); its data is kept. Reversible with reactivate.") { deactivateName };
        deactivate.SetAction((parse, ct) => RunAsync(parse, (s, output, _) => Lifecycle(s, output).DeactivateAsync(parse.GetValue(deactivateName)!, ct), ct));

        var reactivateName = NameArgument("The deactivated tenant to serve again.");
        var reactivate = new Command("reactivate", "Serve a deactivated tenant again.") { reactivateName };
        reactivate.SetAction((parse, ct) => RunAsync(parse, (s, output, _) => Lifecycle(s, output).ReactivateAsync(parse.GetValue(reactivateName)!, ct), ct));

        var deleteName = NameArgument("The deactivated tenant to delete.");
        var drop = new Option<bool>("--drop") { Description = "Drop its schema and data instead of archiving them (irreversible)." };
        var release = new Option<bool>("--release-name") { Description = "Remove its catalog row, so that the name can be registered again (also for a tenant deleted before)." };
        var delete = new Command(
            "delete",
            "Delete a deactivated tenant, as the Api's DELETE /tenants/{name} does: its schema archived (or dropped), its role and grants " +
            "removed, its name kept retired unless released. An active tenant is refused with exit 1.")
        {
            deleteName, drop, release,
        };
        delete.SetAction((parse, ct) => RunAsync(parse, (s, output, _) =>
            Lifecycle(s, output).DeleteAsync(parse.GetValue(deleteName)!, parse.GetValue(drop), parse.GetValue(release), ct), ct));

        var planName = NameArgument("The tenant to put on another plan.");
        var planValue = new Argument<string?>("PLAN") { Description = "A plan configured in Tenancy:Plans; omitted, the default plan.", Arity = ArgumentArity.ZeroOrOne };
        var plan = new Command("plan", "Put a tenant on a plan, as the Api's PUT /tenants/{name}/plan does; every Api instance applies its limits at once.")
        {
            planName, planValue,
        };
        plan.SetAction((parse, ct) => RunAsync(parse, (s, output, _) => Lifecycle(s, output).SetPlanAsync(parse.GetValue(planName)!, parse.GetValue(planValue), ct), ct));

        var moveName = NameArgument("The tenant to move.");
        var moveTo = new Option<string>("--to") { Description = "The node to move it to, as 'tenants list' shows nodes.", HelpName = "HOST:PORT", Required = true };
        var move = new Command(
            "move",
            "Move a tenant's schema to another node of a Citus cluster (citus_schema_move): its requests are served throughout, its writes once its tables are copied. " +
            "Exit 1 without Citus, for a node not in the cluster, or an unknown tenant.")
        {
            moveName, moveTo,
        };
        move.SetAction((parse, ct) => RunAsync(parse, (s, output, _) => Lifecycle(s, output).MoveAsync(parse.GetValue(moveName)!, parse.GetValue(moveTo)!, ct), ct));

        foreach (Command command in (Command[])[list, status, add, migrate, deactivate, reactivate, delete, plan, move])
        {
            tenants.Subcommands.Add(command);
        }

        return new RootCommand("The Worker: run without arguments to host the migration runner; 'tenants' operates the tenants.") { tenants };
    }

    private static Option<bool> JsonOption(string description) => new("--json") { Description = description };

    private static Argument<string> NameArgument(string description) => new("NAME") { Description = description };

    private static TenantMigrationRunner<AppDbContext> Runner(IServiceProvider services) => services.GetRequiredService<TenantMigrationRunner<AppDbContext>>();

    private static CatalogReport Report(IServiceProvider services, TextWriter output) =>
        new(services.GetRequiredService<ITenantCatalog>(), Runner(services), services.GetRequiredService<TenantPlacement>(), output);

    private static TenantLifecycle Lifecycle(IServiceProvider services, TextWriter output) => new(
        services.GetRequiredService<ITenantCatalog>(),
        services.GetRequiredService<TenantMigrator<AppDbContext>>(),
        services.GetRequiredService<TenantOffboarding>(),
        services.GetRequiredService<TenantPlans>(),
        services.GetRequiredService<TenantPlacement>(),
        services.GetRequiredService<IOptions<TenancyOptions>>(),
        output);

    private static Task<int> RunAsync(ParseResult parse, Func<IServiceProvider, TextWriter, TextWriter, Task<int>> command, CancellationToken cancellationToken) =>
        CommandHost.RunAsync(
            (services, _) => command(services, parse.InvocationConfiguration.Output, parse.InvocationConfiguration.Error),
            parse.InvocationConfiguration.Error,
            cancellationToken);
}
