using System.Globalization;
using Benchmarks;

// dotnet run --project tests/Benchmarks -c Release -- migrations [tenants] [provisioning samples]
// dotnet run --project tests/Benchmarks -c Release -- http [seconds per side] [concurrency] [rounds]
// dotnet run --project tests/Benchmarks -c Release -- ef [seconds per side] [concurrency] [rounds]
switch (args)
{
    case ["http", .. var rest]:
        await HttpBenchmark.RunAsync(Number(rest, 0, 3), Number(rest, 1, 16), Number(rest, 2, 8));
        return 0;
    case ["ef", .. var rest]:
        await EfBenchmark.RunAsync(Number(rest, 0, 3), Number(rest, 1, 16), Number(rest, 2, 8));
        return 0;
    case ["migrations", .. var rest]:
        int tenants = rest.Length > 0 ? int.Parse(rest[0], CultureInfo.InvariantCulture) : 1_000;
        int samples = rest.Length > 1 ? int.Parse(rest[1], CultureInfo.InvariantCulture) : 100;
        await MigrationBenchmark.RunAsync(tenants, samples);
        return 0;
    default:
        Console.Error.WriteLine("usage: migrations [tenants=1000] [provisioning samples=100] | http|ef [seconds per side=3] [concurrency=16] [rounds=8]");
        return 2;
}

static int Number(string[] args, int index, int fallback) =>
    args.Length > index ? int.Parse(args[index], CultureInfo.InvariantCulture) : fallback;
