using Microsoft.Extensions.DependencyInjection;

namespace Tenants.Shared.Tests;

public sealed class RegistryTests(PostgresFixture postgres) : DatabaseTest(postgres)
{
    [Fact]
    public async Task Register_is_idempotent_and_durable()
    {
        Assert.True(await Host.Registry.RegisterAsync("acme", Cancellation));
        Assert.False(await Host.Registry.RegisterAsync("acme", Cancellation));
        Assert.True(await Host.Registry.RegisterAsync("globex", Cancellation));

        // A new host over the same database is a restarted (or another) process: the set survives.
        await using var restarted = new TenancyHost(ConnectionString);
        Assert.Equal(["acme", "globex"], (await restarted.Registry.RegisteredTenantsAsync(Cancellation)).Order());
    }

    [Fact]
    public async Task Registered_tenants_come_back_as_a_copy()
    {
        await Host.Registry.RegisterAsync("acme", Cancellation);
        HashSet<string> first = await Host.Registry.RegisteredTenantsAsync(Cancellation);
        first.Add("intruder");
        first.Remove("acme");

        HashSet<string> second = await Host.Registry.RegisteredTenantsAsync(Cancellation);
        Assert.NotSame(first, second);
        Assert.Equal(["acme"], second);
        Assert.False(await Host.Registry.IsRegisteredAsync("intruder", Cancellation));
    }

    [Fact]
    public async Task Another_process_registration_is_visible_without_restart()
    {
        await using var other = new TenancyHost(ConnectionString);
        Assert.False(await other.Registry.IsRegisteredAsync("late", Cancellation));
        Assert.False(other.Registry.IsRegistered("late"));

        await Host.Registry.RegisterAsync("late", Cancellation);

        Assert.True(await other.Registry.IsRegisteredAsync("late", Cancellation));
        Assert.True(other.Registry.IsRegistered("late"));
        Assert.Contains("late", await other.Registry.RegisteredTenantsAsync(Cancellation));
    }

    [Fact]
    public async Task Processes_registering_the_same_names_at_once_all_succeed_and_store_each_once()
    {
        // Eight "processes" (own pools, own caches), bootstrapping the catalog and registering the same names together.
        TenancyHost[] processes = [.. Enumerable.Range(0, 8).Select(_ => new TenancyHost(ConnectionString))];
        try
        {
            string[] names = [.. Enumerable.Range(0, 20).Select(i => $"race_{i}")];
            using var start = new ManualResetEventSlim();
            Task<bool[]>[] work = [.. processes.Select(p => Task.Run(async () =>
            {
                start.Wait(Cancellation);
                var added = new bool[names.Length];
                for (int i = 0; i < names.Length; i++)
                {
                    added[i] = await p.Registry.RegisterAsync(names[i], Cancellation);
                }

                return added;
            }, Cancellation))];
            start.Set();
            bool[][] results = await Task.WhenAll(work);

            for (int i = 0; i < names.Length; i++)
            {
                Assert.Equal(1, results.Count(r => r[i])); // exactly one process added each name
            }

            Assert.Equal(names.Order(), (await Host.Registry.RegisteredTenantsAsync(Cancellation)).Order());
        }
        finally
        {
            foreach (TenancyHost p in processes)
            {
                await p.DisposeAsync();
            }
        }
    }

    [Fact]
    public async Task A_registration_in_another_process_is_announced_to_a_subscription_active_before_it()
    {
        await using var listener = new TenancyHost(ConnectionString);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(Cancellation);
        timeout.CancelAfter(Eventually.Ceiling);
        var notifications = listener.Services.GetRequiredService<CatalogNotifications>();
        await using CatalogSubscription subscription = await notifications.SubscribeAsync([CatalogChannels.Registered], timeout.Token);

        // Once SubscribeAsync returned, nothing is missed: a single registration right after it must be heard.
        await Host.Registry.RegisterAsync("heard", Cancellation);
        await Host.Registry.RegisterAsync("heard", Cancellation); // idempotent: no second announcement
        await Host.Registry.RegisterAsync("also_heard", Cancellation);

        List<string> heard = [];
        await foreach (CatalogNotification registered in subscription.ReadAllAsync(timeout.Token))
        {
            heard.Add(registered.Payload);
            if (heard.Count == 2)
            {
                break;
            }
        }

        Assert.Equal(["heard", "also_heard"], heard);
    }

    [Fact]
    public async Task The_catalog_lives_in_the_shared_schema_not_public()
    {
        await Host.Registry.RegisterAsync("acme", Cancellation);
        await using Npgsql.NpgsqlCommand command = Host.DataSource.Unrouted.CreateCommand(
            "SELECT table_schema FROM information_schema.tables WHERE table_name = 'tenants'");
        Assert.Equal("shared", await command.ExecuteScalarAsync(Cancellation));
    }
}
