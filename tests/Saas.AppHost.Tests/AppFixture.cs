using Aspire.Hosting;
using Aspire.Hosting.ApplicationModel;
using Postgres.Testing;

[assembly: AssemblyFixture(typeof(Saas.AppHost.Tests.AppFixture))]

namespace Saas.AppHost.Tests;

/// <summary>
/// The whole app, started once for this assembly (a start costs ~20 s here) from the real AppHost: PostgreSQL from the
/// local binaries in a throwaway directory, the Worker, the Api, and the dashboard with its telemetry API.
/// </summary>
public sealed class AppFixture : IAsyncLifetime
{
    public const string DashboardApiKey = "tenant-saas-tests-key";

    private readonly string _dataDirectory = Path.Combine(Path.GetTempPath(), $"tenant-saas-apphost-{Guid.NewGuid():N}");
    private DistributedApplication? _app;

    public DistributedApplication App => _app ?? throw new InvalidOperationException("Not started.");

    public async ValueTask InitializeAsync()
    {
        using var timeout = new CancellationTokenSource(Eventually.Ceiling);
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

        // Tokens are another test's concern: here anonymous callers may name a tenant (claims would still bind).
        builder.CreateResourceBuilder<ProjectResource>("api").WithEnvironment("Tenancy__Resolution__RequireAuthenticatedMember", "false");

        _app = await builder.BuildAsync(timeout.Token);
        await _app.StartAsync(timeout.Token);
        await _app.ResourceNotifications.WaitForResourceHealthyAsync("api", timeout.Token);
    }

    public async ValueTask DisposeAsync()
    {
        if (_app is not null)
        {
            await _app.StopAsync();
            await _app.DisposeAsync();
        }

        // PostgreSQL has stopped with the app; its files belong to the postgres user under root, so remove them here.
        if (Directory.Exists(_dataDirectory))
        {
            Directory.Delete(_dataDirectory, recursive: true);
        }
    }
}
