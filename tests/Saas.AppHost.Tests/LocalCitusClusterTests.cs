using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Npgsql;
using Postgres.Testing;

namespace Saas.AppHost.Tests;

/// <summary>
/// The script behind <c>Postgres:Mode=citus</c> from the installed binaries, run as the AppHost runs it: clusters
/// starting side by side (two apps, or two test runs), a worker's port taken while its cluster was down, a start that
/// fails part way, and stops that leave no server behind.
/// </summary>
public sealed class LocalCitusClusterTests : IAsyncLifetime
{
    private readonly List<Script> _scripts = [];

    private static CancellationToken Cancellation => TestContext.Current.CancellationToken;

    public ValueTask InitializeAsync()
    {
        CitusCluster.EnsureInstalled();
        return ValueTask.CompletedTask;
    }

    public async ValueTask DisposeAsync()
    {
        foreach (Script script in _scripts)
        {
            await script.DisposeAsync();
        }
    }

    [Fact]
    public async Task Clusters_starting_side_by_side_each_get_their_own_workers_and_leave_no_server_behind()
    {
        string[] roots = [NewRoot(), NewRoot()];
        Script[] clusters = [Start(roots[0]), Start(roots[1])];
        await Task.WhenAll(clusters.Select(c => c.ReadyAsync()));

        int[][] workers = [await WorkerPortsAsync(clusters[0]), await WorkerPortsAsync(clusters[1])];
        Assert.All(workers, ports => Assert.Equal(2, ports.Length));
        Assert.Empty(workers[0].Intersect(workers[1]));
        foreach (Script cluster in clusters)
        {
            // A tenant's schema lands on one of this cluster's own workers.
            await cluster.ExecuteAsync("CREATE SCHEMA initech; CREATE TABLE initech.notes (id int PRIMARY KEY); INSERT INTO initech.notes VALUES (42)");
            Assert.Contains(await PlacementAsync(cluster), await WorkerPortsAsync(cluster));
        }

        foreach (Script cluster in clusters)
        {
            Assert.Equal(0, await cluster.StopAsync());
        }

        Assert.All(roots, root => Assert.Empty(ServersUnder(root)));
    }

    [Fact]
    public async Task A_worker_whose_port_was_taken_while_the_cluster_was_down_moves_and_its_tenants_stay_reachable()
    {
        string root = NewRoot();
        Script first = Start(root);
        await first.ReadyAsync();
        await first.ExecuteAsync("CREATE SCHEMA initech; CREATE TABLE initech.notes (id int PRIMARY KEY); INSERT INTO initech.notes VALUES (42)");
        int placed = await PlacementAsync(first);
        Assert.Equal(0, await first.StopAsync());

        using var squatter = new TcpListener(IPAddress.Loopback, placed);
        squatter.Start();
        Script again = Start(root);
        await again.ReadyAsync();

        Assert.Contains($"moved from port {placed.ToString(CultureInfo.InvariantCulture)} (taken)", again.Output, StringComparison.Ordinal);
        int moved = await PlacementAsync(again);
        Assert.NotEqual(placed, moved);
        Assert.Contains(moved, await WorkerPortsAsync(again));
        Assert.Equal(42, await again.ScalarAsync<int>("SELECT id FROM initech.notes"));
        await again.ExecuteAsync("CREATE SCHEMA globex; CREATE TABLE globex.notes (id int PRIMARY KEY)"); // metadata changes work again

        Assert.Equal(0, await again.StopAsync());
        Assert.Empty(ServersUnder(root));
    }

    [Fact]
    public async Task A_start_that_fails_part_way_stops_the_servers_it_started_and_says_why()
    {
        string root = NewRoot();
        Script broken = Start(root, appRole: string.Empty); // fails making the roles, after every node is up

        int exitCode = await broken.ExitAsync();

        Assert.NotEqual(0, exitCode);
        Assert.Contains("zero-length delimited identifier", broken.Output, StringComparison.Ordinal);
        Assert.Contains("Citus: coordinator on", broken.Output, StringComparison.Ordinal); // the nodes had started
        Assert.Empty(ServersUnder(root));
    }

    private static string NewRoot() => Path.Combine(Path.GetTempPath(), $"tenant-saas-local-citus-{Guid.NewGuid():N}");

    private Script Start(string root, string appRole = "app_login")
    {
        var script = new Script(root, appRole);
        _scripts.Add(script);
        return script;
    }

    private static async Task<int[]> WorkerPortsAsync(Script cluster) =>
        [.. await cluster.ColumnAsync<int>("SELECT nodeport FROM pg_dist_node WHERE groupid <> 0 ORDER BY nodeport")];

    private static async Task<int> PlacementAsync(Script cluster) =>
        await cluster.ScalarAsync<int>("SELECT nodeport FROM citus_shards WHERE table_name = 'initech.notes'::regclass");

    /// <summary>The process ids of the PostgreSQL servers still running on data under <paramref name="root"/>.</summary>
    private static int[] ServersUnder(string root) =>
        [.. Directory.GetDirectories("/proc")
            .Select(d => int.TryParse(Path.GetFileName(d), NumberStyles.None, CultureInfo.InvariantCulture, out int pid) ? pid : 0)
            .Where(pid => pid > 0 && TryRead($"/proc/{pid.ToString(CultureInfo.InvariantCulture)}/cmdline").Replace('\0', ' ').Contains($"-D {root}/", StringComparison.Ordinal))];

    private static string TryRead(string path)
    {
        try
        {
            return File.ReadAllText(path);
        }
        catch (IOException)
        {
            return string.Empty; // the process ended while we looked
        }
    }

    /// <summary>run-postgres.sh with a Citus cluster of two workers, as the AppHost's resource runs it.</summary>
    private sealed class Script : IAsyncDisposable
    {
        private const string Password = "postgres-secret";
        private readonly Process _process;
        private readonly StringBuilder _output = new();
        private readonly Task _reading;
        private readonly string _connectionString;

        public Script(string root, string appRole)
        {
            Root = root;
            int port = LoopbackPort.Free();
            var start = new ProcessStartInfo("bash", [Path.Combine(AppContext.BaseDirectory, "Postgres", "run-postgres.sh")])
            {
                RedirectStandardOutput = true,
                RedirectStandardError = true,
            };
            start.Environment["PGDATA_ROOT"] = root;
            start.Environment["PGPORT"] = port.ToString(CultureInfo.InvariantCulture);
            start.Environment["POSTGRES_PASSWORD"] = Password;
            start.Environment["POSTGRES_DB"] = "appdb";
            start.Environment["APP_ROLE"] = appRole;
            start.Environment["APP_PASSWORD"] = "app-secret";
            start.Environment["OWNER_ROLE"] = "owner_login";
            start.Environment["OWNER_PASSWORD"] = "owner-secret";
            start.Environment["CITUS_WORKERS"] = "2";
            _process = Process.Start(start)!;
            _reading = Task.WhenAll(CopyAsync(_process.StandardOutput), CopyAsync(_process.StandardError));
            _connectionString = new NpgsqlConnectionStringBuilder
            {
                Host = "127.0.0.1",
                Port = port,
                Username = "postgres",
                Password = Password,
                Database = "appdb",
                Pooling = false,
                Timeout = 60,
            }.ConnectionString;
        }

        public string Root { get; }

        public string Output
        {
            get
            {
                lock (_output)
                {
                    return _output.ToString();
                }
            }
        }

        /// <summary>Returns once the script says the database is ready; fails if it exits first.</summary>
        public async Task ReadyAsync()
        {
            await Eventually.UntilAsync(() => _process.HasExited || Output.Contains("PostgreSQL is ready on", StringComparison.Ordinal), "the local Citus cluster to start", Cancellation);
            if (_process.HasExited)
            {
                Assert.Fail($"run-postgres.sh exited {_process.ExitCode}:{Environment.NewLine}{Output}");
            }
        }

        /// <summary>Stops the script as the orchestrator does (SIGTERM) and returns its exit code.</summary>
        public async Task<int> StopAsync()
        {
            using (Process kill = Process.Start("kill", ["-TERM", _process.Id.ToString(CultureInfo.InvariantCulture)]))
            {
                await kill.WaitForExitAsync(Cancellation);
            }

            return await ExitAsync();
        }

        public async Task<int> ExitAsync()
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(Cancellation);
            timeout.CancelAfter(Eventually.Ceiling);
            await _process.WaitForExitAsync(timeout.Token);
            try
            {
                await _reading.WaitAsync(Eventually.Ceiling, Cancellation);
            }
            catch (TimeoutException)
            {
                Assert.Fail($"run-postgres.sh exited but its output stayed open: a server it started outlived it.{Environment.NewLine}{Output}");
            }

            return _process.ExitCode;
        }

        public Task ExecuteAsync(string sql) => Sql.ExecuteAsync(_connectionString, sql, Cancellation);

        public Task<T> ScalarAsync<T>(string sql) => Sql.ScalarAsync<T>(_connectionString, sql, Cancellation);

        public Task<List<T>> ColumnAsync<T>(string sql) => Sql.ColumnAsync<T>(_connectionString, sql, Cancellation);

        public async ValueTask DisposeAsync()
        {
            if (!_process.HasExited)
            {
                _process.Kill(entireProcessTree: true);
                await _process.WaitForExitAsync();
            }

            _process.Dispose();
            foreach (int pid in ServersUnder(Root)) // what a failed test left running
            {
                try
                {
                    using Process server = Process.GetProcessById(pid);
                    server.Kill();
                }
                catch (ArgumentException)
                {
                    // already gone
                }
            }

            if (Directory.Exists(Root))
            {
                Directory.Delete(Root, recursive: true);
            }
        }

        private async Task CopyAsync(StreamReader reader)
        {
            while (await reader.ReadLineAsync() is { } line)
            {
                lock (_output)
                {
                    _output.AppendLine(line);
                }
            }
        }
    }
}
