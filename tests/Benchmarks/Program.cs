using System.Globalization;
using Benchmarks;

// dotnet run --project tests/Benchmarks -c Release -- migrations [tenants] [provisioning samples]
// dotnet run --project tests/Benchmarks -c Release -- p1 [seconds per side] [concurrency] [rounds] [generations]
// dotnet run --project tests/Benchmarks -c Release -- http [seconds per side] [concurrency] [rounds]
// dotnet run --project tests/Benchmarks -c Release -- ef [seconds per side] [concurrency] [rounds]
// dotnet run --project tests/Benchmarks -c Release -- p1-parts [seconds per side] [concurrency] [rounds]
// dotnet run --project tests/Benchmarks -c Release -- resolution [seconds per side] [concurrency] [rounds]
// dotnet run --project tests/Benchmarks -c Release -- pipeline [seconds per side] [concurrency] [rounds]
// dotnet run --project tests/Benchmarks -c Release -- allocations [seconds] [baseline path] [compared path]
// dotnet run --project tests/Benchmarks -c Release -- migration-commands [tenants] [window]
// dotnet run --project tests/Benchmarks -c Release -- tenants [large] [trafficked] [seconds per run] [warm-up seconds]
// dotnet run --project tests/Benchmarks -c Release -- roles [large] [trafficked] [seconds per side] [rounds]
// dotnet run --project tests/Benchmarks -c Release -- noisy [seconds per side] [rounds]
// dotnet run --project tests/Benchmarks -c Release -- citus [seconds per side] [concurrency] [rounds] [tenants placed]
switch (args)
{
    case ["http", .. var rest]:
        await HttpBenchmark.RunAsync(Number(rest, 0, 3), Number(rest, 1, 16), Number(rest, 2, 8));
        return 0;
    case ["allocations", .. var rest]:
        await AllocationBreakdown.RunAsync(
            Number(rest, 0, 8),
            rest.Length > 1 ? rest[1] : HttpBenchmark.Off.Path + HttpBenchmark.Page,
            rest.Length > 2 ? rest[2] : HttpBenchmark.Shipped.Path + HttpBenchmark.Page);
        return 0;
    case ["p1", .. var rest]:
        await HttpBenchmark.RunP1Async(Number(rest, 0, 1), Number(rest, 1, 16), Number(rest, 2, 500), Number(rest, 3, 10));
        return 0;
    case ["p1-parts", .. var rest]:
        await HttpBenchmark.RunP1PartsAsync(Number(rest, 0, 1), Number(rest, 1, 16), Number(rest, 2, 100));
        return 0;
    case ["resolution", .. var rest]:
        await HttpBenchmark.RunResolutionAsync(Number(rest, 0, 1), Number(rest, 1, 16), Number(rest, 2, 100));
        return 0;
    case ["pipeline", .. var rest]:
        await HttpBenchmark.RunPipelineAsync(Number(rest, 0, 3), Number(rest, 1, 16), Number(rest, 2, 8));
        return 0;
    case ["ef", .. var rest]:
        await EfBenchmark.RunAsync(Number(rest, 0, 3), Number(rest, 1, 16), Number(rest, 2, 8));
        return 0;
    case ["migrations", .. var rest]:
        int tenants = rest.Length > 0 ? int.Parse(rest[0], CultureInfo.InvariantCulture) : 1_000;
        int samples = rest.Length > 1 ? int.Parse(rest[1], CultureInfo.InvariantCulture) : 100;
        await MigrationBenchmark.RunAsync(tenants, samples);
        return 0;
    case ["migration-commands", .. var rest]:
        await MigrationCommandsBenchmark.RunAsync(tenants: Number(rest, 0, 10_000), window: Number(rest, 1, 500));
        return 0;
    case ["tenants", .. var rest]:
        await TenantScaleBenchmark.RunAsync(large: Number(rest, 0, 10_000), trafficked: Number(rest, 1, 1_000), seconds: Number(rest, 2, 15), warmUp: Number(rest, 3, 12));
        return 0;
    case ["roles", .. var rest]:
        await RoleScaleBenchmark.RunAsync(large: Number(rest, 0, 10_000), spread: Number(rest, 1, 1_000), seconds: Number(rest, 2, 3), rounds: Number(rest, 3, 8));
        return 0;
    case ["noisy", .. var rest]:
        await NoisyBenchmark.RunAsync(seconds: Number(rest, 0, 8), rounds: Number(rest, 1, 5));
        return 0;
    case ["citus", .. var rest]:
        await CitusBenchmark.RunAsync(seconds: Number(rest, 0, 3), concurrency: Number(rest, 1, 16), rounds: Number(rest, 2, 8), placed: Number(rest, 3, 1_000));
        return 0;
    case ["side-server", var database]:
        // One side of `p1`, started by it in a process of its own; not meant to be run by hand.
        return await SideServer.ServeAsync(database);
    case ["tenants-child", var app, var owner, var prefix, var trafficked, var stride, var seconds, var warmUp]:
        // One side of `tenants`, started by it in a process of its own; not meant to be run by hand.
        return await TenantScaleChild.RunAsync(app, owner, prefix,
            int.Parse(trafficked, CultureInfo.InvariantCulture), int.Parse(stride, CultureInfo.InvariantCulture), int.Parse(seconds, CultureInfo.InvariantCulture), int.Parse(warmUp, CultureInfo.InvariantCulture));
    default:
        Console.Error.WriteLine("usage: migrations [tenants=1000] [provisioning samples=100] | p1 [seconds per side=1] [concurrency=16] [rounds=500] [generations=10] | p1-parts [seconds per side=1] [concurrency=16] [rounds=100] | resolution [seconds per side=1] [concurrency=16] [rounds=100] | http|ef|pipeline [seconds per side=3] [concurrency=16] [rounds=8] | migration-commands [tenants=10000] [window=500] | tenants [large=10000] [trafficked=1000] [seconds=15] [warm-up=12] | allocations [seconds=8] [baseline path] [compared path] | roles [large=10000] [trafficked=1000] [seconds per side=3] [rounds=8] | noisy [seconds per side=8] [rounds=5] | citus [seconds per side=3] [concurrency=16] [rounds=8] [tenants placed=1000]");
        return 2;
}

static int Number(string[] args, int index, int fallback) =>
    args.Length > index ? int.Parse(args[index], CultureInfo.InvariantCulture) : fallback;
