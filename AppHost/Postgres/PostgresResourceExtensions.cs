using System.Diagnostics;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace Aspire.Hosting;

/// <summary>
/// Picks where the app's PostgreSQL comes from. <c>Postgres:Mode</c>: <c>auto</c> (default), <c>container</c>,
/// <c>local</c> or <c>external</c>. Auto takes an existing server when <c>ConnectionStrings:{name}</c> is set, else the
/// container when a container engine answers, else the installed server binaries: never the container without an
/// engine, where it would wait forever.
/// </summary>
public static class PostgresResourceExtensions
{
    /// <summary>
    /// The app's database, as two connections (least privilege): <paramref name="name"/> logs in as the app's own role
    /// (<c>Postgres:AppRole</c>, default <c>saas_app</c>: not a superuser), <c>{name}-owner</c> as the owner, for
    /// provisioning and migrations only. External mode reads both from <c>ConnectionStrings</c>.
    /// </summary>
    public static AppDatabase AddAppDatabase(this IDistributedApplicationBuilder builder, string name)
    {
        string mode = (builder.Configuration["Postgres:Mode"] ?? "auto").ToLowerInvariant();
        bool external = !string.IsNullOrWhiteSpace(builder.Configuration.GetConnectionString(name));
        string choice = mode switch
        {
            "auto" when external => "external",
            "auto" => ContainerEngineAnswers() ? "container" : "local",
            "external" or "container" or "local" => mode,
            _ => throw new DistributedApplicationException($"Postgres:Mode is '{mode}'; use auto, container, local or external."),
        };
        Console.WriteLine($"PostgreSQL: {choice} (Postgres:Mode={mode}; set it to container, local or external to choose)");

        string ownerName = $"{name}-owner";
        if (choice == "external")
        {
            // Both from configuration; an operator who gives no owner connection lets the app's role own the schemas.
            IResourceBuilder<IResourceWithConnectionString> app = builder.AddConnectionString(name);
            return new AppDatabase(app, string.IsNullOrWhiteSpace(builder.Configuration.GetConnectionString(ownerName)) ? app : builder.AddConnectionString(ownerName), app);
        }

        string appRole = builder.Configuration["Postgres:AppRole"] ?? "saas_app";
        ParameterResource appPassword = ParameterResourceBuilderExtensions.CreateDefaultPasswordParameter(builder, $"{name}-app-password");
        string initDirectory = Path.Combine(AppContext.BaseDirectory, "Postgres", "init");
        if (choice == "container")
        {
            IResourceBuilder<PostgresServerResource> server = builder.AddPostgres("postgres")
                .WithDataVolume()
                .WithInitFiles(initDirectory)
                .WithEnvironment("APP_ROLE", appRole)
                .WithEnvironment("APP_PASSWORD", appPassword);
            IResourceBuilder<PostgresDatabaseResource> owner = server.AddDatabase(ownerName, name);
            EndpointReference endpoint = server.Resource.PrimaryEndpoint;
            return new AppDatabase(AppConnection(builder, name, endpoint, appRole, appPassword), owner, server);
        }

        IResourceBuilder<LocalPostgresResource> local = builder.AddLocalPostgres("postgres", name)
            .WithEnvironment("APP_ROLE", appRole)
            .WithEnvironment("APP_PASSWORD", appPassword);
        return new AppDatabase(AppConnection(builder, name, local.Resource.Endpoint, appRole, appPassword), local, local);
    }

    /// <summary>PostgreSQL from the installed binaries, its data in <c>Postgres:DataDirectory</c> (default <c>AppHost/.data/postgres</c>).</summary>
    public static IResourceBuilder<LocalPostgresResource> AddLocalPostgres(this IDistributedApplicationBuilder builder, string name, string databaseName)
    {
        ParameterResource password = ParameterResourceBuilderExtensions.CreateDefaultPasswordParameter(builder, $"{name}-password");
        string dataDirectory = Path.GetFullPath(builder.Configuration["Postgres:DataDirectory"]
            ?? Path.Combine(builder.AppHostDirectory, ".data", "postgres"));
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
            .WithHealthCheck(healthCheck);
    }

    private static IResourceBuilder<IResourceWithConnectionString> AppConnection(
        IDistributedApplicationBuilder builder, string name, EndpointReference endpoint, string role, ParameterResource password) =>
        builder.AddConnectionString(name, ReferenceExpression.Create(
            $"Host={endpoint.Property(EndpointProperty.Host)};Port={endpoint.Property(EndpointProperty.Port)};Username={role};Password={password};Database={name}"));

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
}
