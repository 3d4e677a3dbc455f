using System.Diagnostics;
using Aspire.Hosting;
using Aspire.Hosting.ApplicationModel;
using Microsoft.Extensions.DependencyInjection;
using Postgres.Testing;

[assembly: AssemblyFixture(typeof(Saas.AppHost.Tests.AppFixture))]

namespace Saas.AppHost.Tests;

/// <summary>
/// The whole app, started once for this assembly from the real AppHost as a newcomer starts it on a fresh machine:
/// PostgreSQL from the local binaries in a throwaway directory, the Worker, the Api, the dashboard with its telemetry
/// API, and user secrets that hold nothing yet (this process's and its children's user-secrets home is a new folder),
/// so that tokens come from <c>dotnet user-jwts</c> after the Api has started, as README's flow makes them.
/// </summary>
public sealed class AppFixture : IAsyncLifetime
{
    public const string DashboardApiKey = "tenant-saas-tests-key";

    private readonly string _dataDirectory = Path.Combine(Path.GetTempPath(), $"tenant-saas-apphost-{Guid.NewGuid():N}");
    private readonly SemaphoreSlim _userJwts = new(1, 1); // one at a time: the first creates the signing key
    private DistributedApplication? _app;

    public DistributedApplication App => _app ?? throw new InvalidOperationException("Not started.");

    /// <summary>Where user secrets live for the app and for <c>dotnet user-jwts</c> (APPDATA, which .NET prefers to ~/.microsoft).</summary>
    public string UserSecretsHome { get; } = Path.Combine(Path.GetTempPath(), $"tenant-saas-secrets-{Guid.NewGuid():N}");

    public async ValueTask InitializeAsync()
    {
        Directory.CreateDirectory(UserSecretsHome);
        Environment.SetEnvironmentVariable("APPDATA", UserSecretsHome); // the AppHost, the services and user-jwts alike

        using var timeout = new CancellationTokenSource(Eventually.AppStartCeiling);
        IDistributedApplicationTestingBuilder builder = await DistributedApplicationTestingBuilder.CreateAsync<Projects.Saas_AppHost>(
            [
                "--Postgres:Mode=local",
                $"--Postgres:DataDirectory={_dataDirectory}",
                $"--AppHost:DashboardApiKey={DashboardApiKey}",
                "--ASPIRE_DASHBOARD_UNSECURED_ALLOW_ANONYMOUS=true", // the browser check opens pages without a login token
            ],
            (options, _) =>
            {
                options.DisableDashboard = false;
                options.AllowUnsecuredTransport = true;
            },
            timeout.Token);

        _app = await builder.BuildAsync(timeout.Token);
        await _app.StartAsync(timeout.Token);
        // Serving (its /health answers); an Api that exits or fails to start fails here, naming it, instead of every test
        // waiting on a proxy with nothing behind it.
        await _app.ResourceNotifications.WaitForResourceHealthyAsync("api", WaitBehavior.StopOnResourceUnavailable, timeout.Token);
    }

    /// <summary>
    /// A client of the Api whose requests carry a token made as README shows (<c>dotnet user-jwts create --project Api
    /// ...</c>): a member of <paramref name="tenant"/>, or the operator with the admin role when it is null.
    /// </summary>
    public Task<HttpClient> ApiClientAsync(string? tenant, CancellationToken cancellationToken) => ApiClientAsync(App, tenant, cancellationToken);

    /// <summary>
    /// Like <see cref="ApiClientAsync(string?, CancellationToken)"/>, for the Api of another app started from the
    /// AppHost in this process: it reads the same user secrets, so it accepts the same tokens.
    /// </summary>
    public async Task<HttpClient> ApiClientAsync(DistributedApplication app, string? tenant, CancellationToken cancellationToken)
    {
        string[] claims = tenant is null ? ["--role", "admin", "--name", "operator"] : ["--claim", $"tenant={tenant}"];
        string token = await UserJwtsAsync([.. claims, "--output", "token"], cancellationToken);
        HttpClient client = app.CreateHttpClient("api");
        client.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", token);
        return client;
    }

    public async ValueTask DisposeAsync()
    {
        if (_app is not null)
        {
            await _app.StopAsync();
            await _app.DisposeAsync();
        }

        // PostgreSQL has stopped with the app (its files belong to the postgres user under root, so they go here).
        foreach (string directory in (string[])[_dataDirectory, UserSecretsHome])
        {
            if (Directory.Exists(directory))
            {
                Directory.Delete(directory, recursive: true);
            }
        }

        _userJwts.Dispose();
    }

    private async Task<string> UserJwtsAsync(string[] arguments, CancellationToken cancellationToken)
    {
        string api = Path.GetDirectoryName(App.Services.GetRequiredService<DistributedApplicationModel>().Resources
            .OfType<ProjectResource>().Single(r => r.Name == "api").GetProjectMetadata().ProjectPath)!;
        var start = new ProcessStartInfo("dotnet", ["user-jwts", "create", "--project", api, .. arguments])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        await _userJwts.WaitAsync(cancellationToken);
        try
        {
            using Process process = Process.Start(start)!;
            Task<string> output = process.StandardOutput.ReadToEndAsync(cancellationToken);
            Task<string> error = process.StandardError.ReadToEndAsync(cancellationToken);
            await process.WaitForExitAsync(cancellationToken);
            string token = (await output).Trim();
            return process.ExitCode == 0 && token.Length > 0
                ? token
                : throw new InvalidOperationException($"dotnet user-jwts failed ({process.ExitCode}): {token}{await error}");
        }
        finally
        {
            _userJwts.Release();
        }
    }
}
