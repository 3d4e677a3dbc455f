using System.Globalization;
using Benchmarks;

// dotnet run --project tests/Benchmarks -c Release -- migrations [tenants] [provisioning samples]
switch (args)
{
    case ["migrations", .. var rest]:
        int tenants = rest.Length > 0 ? int.Parse(rest[0], CultureInfo.InvariantCulture) : 1_000;
        int samples = rest.Length > 1 ? int.Parse(rest[1], CultureInfo.InvariantCulture) : 100;
        await MigrationBenchmark.RunAsync(tenants, samples);
        return 0;
    default:
        Console.Error.WriteLine("usage: migrations [tenants=1000] [provisioning samples=100]");
        return 2;
}
