using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Xunit;
using Xunit.Abstractions;

namespace PeerDistill.Cli.Tests.Rest;

/// <summary>One coordinator process without workers for a test class of REST calls (submitted runs stay pending until cancelled).</summary>
public sealed class RestCoordinator : IAsyncLifetime
{
    private readonly TempDirectory _dir = new();
    private Cluster? _cluster;

    public HttpClient Http { get; } = new() { Timeout = TimeSpan.FromSeconds(60) };

    internal Cluster Cluster => _cluster!;

    public async Task InitializeAsync()
    {
        _cluster = await Cluster.StartAsync(_dir.Path, [], new Quiet());
        Http.BaseAddress = new Uri(_cluster.HttpUrl + "/");
        Http.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", _cluster.Token);
    }

    public async Task DisposeAsync()
    {
        Http.Dispose();
        if (_cluster is not null)
        {
            await _cluster.DisposeAsync();
        }

        _dir.Dispose();
    }

    /// <summary>POSTs <paramref name="body"/> with <paramref name="contentType"/> to <paramref name="path"/>.</summary>
    public Task<HttpResponseMessage> PostAsync(string path, string body, string contentType, Action<HttpRequestMessage>? headers = null) =>
        SendAsync(HttpMethod.Post, path, new ByteArrayContent(Encoding.UTF8.GetBytes(body)), contentType, headers);

    public async Task<HttpResponseMessage> SendAsync(HttpMethod method, string path, HttpContent? content = null, string? contentType = null, Action<HttpRequestMessage>? headers = null)
    {
        using var request = new HttpRequestMessage(method, path) { Content = content };
        if (content is not null && contentType is not null)
        {
            content.Headers.ContentType = MediaTypeHeaderValue.Parse(contentType);
        }

        headers?.Invoke(request);
        return await Http.SendAsync(request);
    }

    /// <summary>The JSON body of a response.</summary>
    public static async Task<JsonElement> JsonOf(HttpResponseMessage response)
    {
        var text = await response.Content.ReadAsStringAsync();
        return JsonDocument.Parse(text).RootElement.Clone();
    }

    /// <summary>The lines of the coordinator are not needed by these tests (a failing test shows the response).</summary>
    private sealed class Quiet : ITestOutputHelper
    {
        public void WriteLine(string message)
        {
        }

        public void WriteLine(string format, params object[] args)
        {
        }
    }
}
