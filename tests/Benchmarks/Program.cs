using System.Globalization;
using Benchmarks;

// dotnet run --project tests/Benchmarks -c Release -- migrations [tenants] [provisioning samples]
// dotnet run --project tests/Benchmarks -c Release -- http [seconds per run] [concurrency] [rounds]
switch (args)
{
    case ["http", .. var rest]:
        await HttpBenchmark.RunAsync(
            seconds: rest.Length > 0 ? int.Parse(rest[0], CultureInfo.InvariantCulture) : 5,
            concurrency: rest.Length > 1 ? int.Parse(rest[1], CultureInfo.InvariantCulture) : 16,
            rounds: rest.Length > 2 ? int.Parse(rest[2], CultureInfo.InvariantCulture) : 5);
        return 0;
    case ["migrations", .. var rest]:
        int tenants = rest.Length > 0 ? int.Parse(rest[0], CultureInfo.InvariantCulture) : 1_000;
        int samples = rest.Length > 1 ? int.Parse(rest[1], CultureInfo.InvariantCulture) : 100;
        await MigrationBenchmark.RunAsync(tenants, samples);
        return 0;
    default:
        Console.Error.WriteLine("usage: migrations [tenants=1000] [provisioning samples=100] | http [seconds=5] [concurrency=16] [rounds=5]");
        return 2;
}
