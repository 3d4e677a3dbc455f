using System.Net.Sockets;
using System.Text;

namespace Saas.Api.Tests;

/// <summary>
/// HTTP/1.1 as bytes over a TCP socket, for requests an HttpClient refuses to build (a NUL or CR/LF in a header, a host
/// that is no host name, a path that is not valid UTF-8): what a hostile client can really put on the wire.
/// </summary>
public static class RawHttp
{
    /// <summary>A response as read off the socket; <paramref name="Headers"/> by lowercase name.</summary>
    public sealed record Response(int Status, IReadOnlyDictionary<string, string> Headers, string Body)
    {
        public string? MediaType => Headers.TryGetValue("content-type", out string? type) ? type.Split(';')[0].Trim() : null;
    }

    /// <summary>
    /// Sends a GET of <paramref name="target"/> (bytes as given) with <paramref name="headers"/> (a line each, bytes as
    /// given, after <c>Connection: close</c>), and reads the response to the end of the connection.
    /// </summary>
    public static async Task<Response> GetAsync(Uri server, byte[] target, IEnumerable<byte[]> headers, CancellationToken cancellationToken)
    {
        var request = new MemoryStream();
        request.Write("GET "u8);
        request.Write(target);
        request.Write(" HTTP/1.1\r\nConnection: close\r\n"u8); // first: whatever a header below ends early, the server closes after one answer
        foreach (byte[] header in headers)
        {
            request.Write(header);
            request.Write("\r\n"u8);
        }

        request.Write("\r\n"u8);

        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(Eventually.Ceiling);
        using var client = new TcpClient();
        await client.ConnectAsync(server.Host, server.Port, timeout.Token);
        NetworkStream stream = client.GetStream();
        await stream.WriteAsync(request.ToArray(), timeout.Token);
        var received = new MemoryStream();
        await stream.CopyToAsync(received, timeout.Token);
        return Parse(received.ToArray());
    }

    /// <summary>A header line, <c>Name: value</c>, with the value's UTF-8 bytes as they are (CR, LF and NUL included).</summary>
    public static byte[] Header(string name, string value) => Encoding.UTF8.GetBytes($"{name}: {value}");

    private static Response Parse(byte[] bytes)
    {
        int end = bytes.AsSpan().IndexOf("\r\n\r\n"u8);
        if (end < 0)
        {
            throw new InvalidOperationException($"No complete response on the connection: '{Encoding.Latin1.GetString(bytes)}'");
        }

        string[] lines = Encoding.Latin1.GetString(bytes, 0, end).Split("\r\n");
        string[] statusLine = lines[0].Split(' ', 3);
        if (statusLine.Length < 2 || !statusLine[0].StartsWith("HTTP/1.", StringComparison.Ordinal) || !int.TryParse(statusLine[1], out int status))
        {
            throw new InvalidOperationException($"Not an HTTP/1.x status line: '{lines[0]}'");
        }

        var headers = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (string line in lines.Skip(1))
        {
            int colon = line.IndexOf(':', StringComparison.Ordinal);
            headers[line[..colon].Trim().ToLowerInvariant()] = line[(colon + 1)..].Trim();
        }

        byte[] body = bytes[(end + 4)..];
        if (headers.TryGetValue("transfer-encoding", out string? encoding) && encoding.Equals("chunked", StringComparison.OrdinalIgnoreCase))
        {
            body = Unchunk(body);
        }

        return new Response(status, headers, Encoding.UTF8.GetString(body));
    }

    private static byte[] Unchunk(byte[] chunked)
    {
        var body = new MemoryStream();
        int at = 0;
        while (true)
        {
            int lineEnd = chunked.AsSpan(at).IndexOf("\r\n"u8) + at;
            int size = Convert.ToInt32(Encoding.ASCII.GetString(chunked, at, lineEnd - at).Split(';')[0], 16);
            if (size == 0)
            {
                return body.ToArray();
            }

            body.Write(chunked, lineEnd + 2, size);
            at = lineEnd + 2 + size + 2;
        }
    }
}
