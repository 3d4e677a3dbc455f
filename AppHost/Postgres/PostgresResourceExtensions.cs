using System.Diagnostics;
using System.Globalization;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace Aspire.Hosting;

/// <summary>
/// Picks where the app's PostgreSQL comes from. <c>Postgres:Mode</c>: <c>auto</c> (default), <c>container</c>,
/// <c>local</c>, <c>citus</c> or <c>external</c>. Auto takes an existing server when <c>ConnectionStrings:{name}</c> is
/// set, else the container when a container engine answers, else the installed server binaries: never the container
/// without an engine, where it would wait forever. Citus runs a Citus cluster (a coordinator and
/// <c>Postgres:CitusWorkers</c> workers, default 2), each tenant's schema on one worker, from where
/// <c>Postgres:CitusFrom</c> says: <c>auto</c> (default: the installed binaries when Citus is installed for them, else the
/// <c>citusdata/citus</c> image when a container engine answers), <c>local</c> or <c>container</c>.
/// </summary>
public static class PostgresResourceExtensions
{
    /// <summary>
    /// The app's database, as two connections (least privilege): <paramref name="name"/> logs in as the app's own role
    /// (<c>Postgres:AppRole</c>, default <c>saas_app</c>: not a superuser, creates nothing), <c>{name}-owner</c> as the
    /// owner (<c>Postgres:OwnerRole</c>, default <c>saas_owner</c>: owns the database, may create roles, not a
    /// superuser), for provisioning and migrations only. External mode reads both from <c>ConnectionStrings</c>.
    /// </summary>
    public static AppDatabase AddAppDatabase(this IDistributedApplicationBuilder builder, string name)
    {
        string mode = (builder.Configuration["Postgres:Mode"] ?? "auto").ToLowerInvariant();
        bool external = !string.IsNullOrWhiteSpace(builder.Configuration.GetConnectionString(name));
        string choice = mode switch
        {
            "auto" when external => "external",
            "auto" => ContainerEngineAnswers() ? "container" : "local",
            "citus" => CitusFrom(builder),
            "external" or "container" or "local" => mode,
            _ => throw new DistributedApplicationException($"Postgres:Mode is '{mode}'; use auto, container, local, citus or external."),
        };
        Console.WriteLine($"PostgreSQL: {choice} (Postgres:Mode={mode}; set it to container, local, citus or external to choose)");

        string ownerName = $"{name}-owner";
        if (choice == "external")
        {
            // Both from configuration; an operator who gives no owner connection lets the app's role own the schemas.
            IResourceBuilder<IResourceWithConnectionString> app = builder.AddConnectionString(name);
            return new AppDatabase(app, string.IsNullOrWhiteSpace(builder.Configuration.GetConnectionString(ownerName)) ? app : builder.AddConnectionString(ownerName), app);
        }

        var appRole = new LoginRole(
            builder.Configuration["Postgres:AppRole"] ?? "saas_app",
            ParameterResourceBuilderExtensions.CreateDefaultPasswordParameter(builder, $"{name}-app-password"));
        var ownerRole = new LoginRole(
            builder.Configuration["Postgres:OwnerRole"] ?? "saas_owner",
            ParameterResourceBuilderExtensions.CreateDefaultPasswordParameter(builder, $"{ownerName}-password"));
        if (choice is "container" or "citus-container")
        {
            // The init files create both roles and the database, owned by the owner role, on the volume's first start.
            IResourceBuilder<PostgresServerResource> server = WithLoginRoles(
                (choice == "container" ? builder.AddPostgres("postgres") : builder.AddCitusContainers("citus", name, CitusWorkers(builder)))
                    .WithDataVolume()
                    .WithInitFiles(Path.Combine(AppContext.BaseDirectory, "Postgres", "init"))
                    .WithEnvironment("APP_DATABASE", name),
                appRole,
                ownerRole);
            EndpointReference endpoint = server.Resource.PrimaryEndpoint;
            return new AppDatabase(Connection(builder, name, endpoint, appRole, name), Connection(builder, ownerName, endpoint, ownerRole, name), server);
        }

        IResourceBuilder<LocalPostgresResource> local = WithLoginRoles(
            choice == "citus-local" ? builder.AddLocalPostgres("citus", name, CitusWorkers(builder)) : builder.AddLocalPostgres("postgres", name),
            appRole,
            ownerRole);
        EndpointReference localEndpoint = local.Resource.Endpoint;
        return new AppDatabase(Connection(builder, name, localEndpoint, appRole, name), Connection(builder, ownerName, localEndpoint, ownerRole, name), local);
    }

    /// <summary>
    /// PostgreSQL from the installed binaries, its data in <c>Postgres:DataDirectory</c> (default
    /// <c>AppHost/.data/{name}</c>): one server, or with <paramref name="citusWorkers"/> a Citus coordinator and that
    /// many workers, schema-based sharding on for the app's database.
    /// </summary>
    public static IResourceBuilder<LocalPostgresResource> AddLocalPostgres(this IDistributedApplicationBuilder builder, string name, string databaseName, int citusWorkers = 0)
    {
        ParameterResource password = ParameterResourceBuilderExtensions.CreateDefaultPasswordParameter(builder, $"{name}-password");
        string dataDirectory = Path.GetFullPath(builder.Configuration["Postgres:DataDirectory"]
            ?? Path.Combine(builder.AppHostDirectory, ".data", name));
        string script = Path.Combine(AppContext.BaseDirectory, "Postgres", "run-postgres.sh");
        var resource = new LocalPostgresResource(name, "bash", builder.AppHostDirectory, password, databaseName);

        string healthCheck = $"{name}_check";
        builder.Services.AddHealthChecks().Add(new HealthCheckRegistration(healthCheck, _ => new LocalPostgresHealthCheck(resource), failureStatus: null, tags: null));

        return builder.AddResource(resource)
            .WithArgs(script)
            .WithEndpoint(name: LocalPostgresResource.EndpointName, scheme: "tcp", env: "PGPORT")
            .WithEnvironment("PGDATA_ROOT", dataDirectory)
            .WithEnvironment("POSTGRES_DB", databaseName)
            .WithEnvironment("POSTGRES_PASSWORD", password)
            .WithEnvironment("CITUS_WORKERS", citusWorkers.ToString(CultureInfo.InvariantCulture))
            .WithHealthCheck(healthCheck);
    }

    /// <summary><c>citus-local</c> or <c>citus-container</c>, by <c>Postgres:CitusFrom</c>.</summary>
    private static string CitusFrom(IDistributedApplicationBuilder builder) =>
        (builder.Configuration["Postgres:CitusFrom"] ?? "auto").ToLowerInvariant() switch
        {
            // Neither: the local cluster's start then says how to install Citus.
            "auto" => CitusInstalled() || !ContainerEngineAnswers() ? "citus-local" : "citus-container",
            "local" => "citus-local",
            "container" => "citus-container",
            string other => throw new DistributedApplicationException($"Postgres:CitusFrom is '{other}'; use auto, local or container."),
        };

    /// <summary>Whether the server binaries run-postgres.sh would take (PG_BIN, else the newest installed) have Citus.</summary>
    private static bool CitusInstalled()
    {
        string? bin = Environment.GetEnvironmentVariable("PG_BIN");
        if (string.IsNullOrEmpty(bin))
        {
            const string Installed = "/usr/lib/postgresql";
            bin = Directory.Exists(Installed)
                ? Directory.GetDirectories(Installed)
                    .Where(d => int.TryParse(Path.GetFileName(d), NumberStyles.None, CultureInfo.InvariantCulture, out _))
                    .OrderBy(d => int.Parse(Path.GetFileName(d), CultureInfo.InvariantCulture))
                    .Select(d => Path.Combine(d, "bin"))
                    .LastOrDefault(d => File.Exists(Path.Combine(d, "postgres")))
                : null;
        }

        return bin is not null && File.Exists(Path.Combine(bin, "..", "lib", "citus.so"));
    }

    private static int CitusWorkers(IDistributedApplicationBuilder builder) =>
        builder.Configuration["Postgres:CitusWorkers"] is not { } text ? 2
        : int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out int workers) && workers is >= 1 and <= 16 ? workers
        : throw new DistributedApplicationException($"Postgres:CitusWorkers is '{text}'; use a whole number from 1 to 16.");

    private static IResourceBuilder<T> WithLoginRoles<T>(IResourceBuilder<T> server, LoginRole app, LoginRole owner)
        where T : IResourceWithEnvironment =>
        server
            .WithEnvironment("APP_ROLE", app.Name)
            .WithEnvironment("APP_PASSWORD", app.Password)
            .WithEnvironment("OWNER_ROLE", owner.Name)
            .WithEnvironment("OWNER_PASSWORD", owner.Password);

    private static IResourceBuilder<IResourceWithConnectionString> Connection(
        IDistributedApplicationBuilder builder, string name, EndpointReference endpoint, LoginRole role, string database) =>
        builder.AddConnectionString(name, ReferenceExpression.Create(
            $"Host={endpoint.Property(EndpointProperty.Host)};Port={endpoint.Property(EndpointProperty.Port)};Username={role.Name};Password={role.Password};Database={database}"));

    private static bool ContainerEngineAnswers()
    {
        try
        {
            using var docker = Process.Start(new ProcessStartInfo("docker", ["info", "--format", "{{.ServerVersion}}"])
            {
                RedirectStandardOutput = true,
                RedirectStandardError = true,
            });
            if (docker is null)
            {
                return false;
            }

            if (!docker.WaitForExit(TimeSpan.FromSeconds(5)))
            {
                docker.Kill();
                return false;
            }

            return docker.ExitCode == 0;
        }
        catch (System.ComponentModel.Win32Exception)
        {
            return false; // no docker client at all
        }
    }

    /// <summary>A login role the AppHost creates, and its generated password.</summary>
    private sealed record LoginRole(string Name, ParameterResource Password);
}
