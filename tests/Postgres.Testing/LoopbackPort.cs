using System.Net;
using System.Net.Sockets;

namespace Postgres.Testing;

/// <summary>Loopback ports for servers a test starts.</summary>
public static class LoopbackPort
{
    /// <summary>A loopback port free right now (the orchestrator hands out one the same way).</summary>
    public static int Free()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
