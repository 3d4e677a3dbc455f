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
    public static IResourceBuilder<IResourceWithConnectionString> AddAppDatabase(this IDistributedApplicationBuilder builder, string name)
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

        return choice switch
        {
            "external" => builder.AddConnectionString(name),
            "container" => builder.AddPostgres("postgres").WithDataVolume().AddDatabase(name),
            _ => builder.AddLocalPostgres("postgres", name),
        };
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
