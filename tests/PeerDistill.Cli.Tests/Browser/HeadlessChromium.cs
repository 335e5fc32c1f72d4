using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace PeerDistill.Cli.Tests.Browser;

/// <summary>
/// Debian's Chromium, headless, driven over the Chrome DevTools Protocol (a WebSocket; no driver to
/// download, nothing but the browser): one page of a fixed size, navigated, evaluated and
/// screenshotted. Killed (with its profile directory) on dispose.
/// </summary>
internal sealed partial class HeadlessChromium : IAsyncDisposable
{
    public const string Executable = "/usr/bin/chromium";

    private static readonly TimeSpan CommandTimeout = TimeSpan.FromSeconds(30);

    private readonly Process _process;
    private readonly TempDirectory _profile;
    private readonly ClientWebSocket _socket = new();
    private readonly ConcurrentDictionary<int, TaskCompletionSource<JsonElement>> _pending = new();
    private readonly CancellationTokenSource _stop = new();
    private readonly SemaphoreSlim _sendLock = new(1, 1);
    private Task _receiving = Task.CompletedTask;
    private int _nextId;
    private string _session = string.Empty;

    private HeadlessChromium(Process process, TempDirectory profile)
    {
        _process = process;
        _profile = profile;
    }

    /// <summary>Starts the browser with one blank page of <paramref name="width"/> x <paramref name="height"/> CSS pixels (device scale 1).</summary>
    public static async Task<HeadlessChromium> StartAsync(int width, int height)
    {
        var profile = new TempDirectory("peerdistill-chromium-");
        var info = new ProcessStartInfo(Executable)
        {
            RedirectStandardError = true,
            RedirectStandardOutput = true,
            UseShellExecute = false,
        };
        foreach (var argument in new[]
        {
            "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run", "--no-default-browser-check",
            "--disable-extensions", "--disable-background-networking", "--disable-sync", "--disable-component-update", "--mute-audio",
            "--hide-scrollbars", "--remote-debugging-address=127.0.0.1", "--remote-debugging-port=0",
            $"--user-data-dir={profile.Path}", $"--window-size={width},{height}", "about:blank",
        })
        {
            info.ArgumentList.Add(argument);
        }

        var process = Process.Start(info)!;
        var browser = new HeadlessChromium(process, profile);
        try
        {
            var endpoint = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
            var errors = new StringBuilder();
            process.ErrorDataReceived += (_, e) =>
            {
                if (e.Data is null)
                {
                    endpoint.TrySetException(new InvalidOperationException("chromium exited before it listened:\n" + errors));
                    return;
                }

                lock (errors)
                {
                    errors.AppendLine(e.Data);
                }

                if (DevToolsEndpoint().Match(e.Data) is { Success: true } m)
                {
                    endpoint.TrySetResult(m.Groups[1].Value);
                }
            };
            process.OutputDataReceived += (_, _) => { };
            process.BeginErrorReadLine();
            process.BeginOutputReadLine();
            await browser._socket.ConnectAsync(new Uri(await endpoint.Task.WaitAsync(TimeSpan.FromSeconds(30))), CancellationToken.None);
            browser._receiving = browser.ReceiveAsync();
            var target = await browser.SendAsync("Target.createTarget", new JsonObject { ["url"] = "about:blank" }, session: false);
            var attached = await browser.SendAsync("Target.attachToTarget", new JsonObject { ["targetId"] = target.GetProperty("targetId").GetString(), ["flatten"] = true }, session: false);
            browser._session = attached.GetProperty("sessionId").GetString()!;
            await browser.SendAsync("Page.enable", []);
            await browser.SendAsync("Emulation.setDeviceMetricsOverride", new JsonObject { ["width"] = width, ["height"] = height, ["deviceScaleFactor"] = 1, ["mobile"] = false });
            return browser;
        }
        catch
        {
            await browser.DisposeAsync();
            throw;
        }
    }

    /// <summary>Loads <paramref name="url"/> and waits until its document has loaded.</summary>
    public async Task NavigateAsync(string url)
    {
        var result = await SendAsync("Page.navigate", new JsonObject { ["url"] = url });
        if (result.TryGetProperty("errorText", out var error))
        {
            throw new InvalidOperationException($"navigating to {url} failed: {error.GetString()}");
        }

        await WaitForAsync("document.readyState === 'complete'", v => v.ValueKind == JsonValueKind.True, TimeSpan.FromSeconds(30));
    }

    /// <summary>Loads the page again (from the server: ETags may answer 304) and waits until it has loaded.</summary>
    public async Task ReloadAsync()
    {
        await EvaluateAsync("window.__reloadMark = 1");
        await SendAsync("Page.reload", new JsonObject { ["ignoreCache"] = false });
        await WaitForAsync("window.__reloadMark === undefined && document.readyState === 'complete'", v => v.ValueKind == JsonValueKind.True, TimeSpan.FromSeconds(30));
    }

    /// <summary>The value of a JavaScript expression in the page (promises awaited; the value as JSON).</summary>
    public async Task<JsonElement> EvaluateAsync(string expression)
    {
        var result = await SendAsync("Runtime.evaluate", new JsonObject { ["expression"] = expression, ["returnByValue"] = true, ["awaitPromise"] = true });
        if (result.TryGetProperty("exceptionDetails", out var exception))
        {
            throw new InvalidOperationException($"evaluating '{expression}' threw: {exception}");
        }

        return result.GetProperty("result").TryGetProperty("value", out var value) ? value.Clone() : default;
    }

    /// <summary>Evaluates <paramref name="expression"/> until <paramref name="done"/> holds for its value; that value.</summary>
    public async Task<JsonElement> WaitForAsync(string expression, Func<JsonElement, bool> done, TimeSpan timeout)
    {
        var clock = Stopwatch.StartNew();
        JsonElement last = default;
        while (clock.Elapsed < timeout)
        {
            last = await EvaluateAsync(expression);
            if (done(last))
            {
                return last;
            }

            await Task.Delay(100);
        }

        throw new TimeoutException($"'{expression}' did not hold in {timeout}; last value: {(last.ValueKind == JsonValueKind.Undefined ? "undefined" : last.GetRawText())}");
    }

    /// <summary>A PNG of the page's viewport.</summary>
    public async Task<byte[]> ScreenshotAsync()
    {
        var result = await SendAsync("Page.captureScreenshot", new JsonObject { ["format"] = "png" });
        return Convert.FromBase64String(result.GetProperty("data").GetString()!);
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            if (_socket.State == WebSocketState.Open)
            {
                using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(2));
                await _socket.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, null, timeout.Token);
            }
        }
        catch (Exception e) when (e is WebSocketException or OperationCanceledException)
        {
        }

        await _stop.CancelAsync();
        try
        {
            if (!_process.HasExited)
            {
                _process.Kill(entireProcessTree: true);
                await _process.WaitForExitAsync();
            }
        }
        catch (InvalidOperationException)
        {
        }

        try
        {
            await _receiving;
        }
        catch (Exception e) when (e is WebSocketException or OperationCanceledException)
        {
        }

        _socket.Dispose();
        _process.Dispose();
        _stop.Dispose();
        _sendLock.Dispose();
        _profile.Dispose();
    }

    private async Task<JsonElement> SendAsync(string method, JsonObject parameters, bool session = true)
    {
        var id = Interlocked.Increment(ref _nextId);
        var message = new JsonObject { ["id"] = id, ["method"] = method, ["params"] = parameters };
        if (session)
        {
            message["sessionId"] = _session;
        }

        var answer = new TaskCompletionSource<JsonElement>(TaskCreationOptions.RunContinuationsAsynchronously);
        _pending[id] = answer;
        await _sendLock.WaitAsync();
        try
        {
            await _socket.SendAsync(Encoding.UTF8.GetBytes(message.ToJsonString()), WebSocketMessageType.Text, endOfMessage: true, _stop.Token);
        }
        finally
        {
            _sendLock.Release();
        }

        var reply = await answer.Task.WaitAsync(CommandTimeout);
        if (reply.TryGetProperty("error", out var error))
        {
            throw new InvalidOperationException($"{method}: {error}");
        }

        return reply.GetProperty("result");
    }

    private async Task ReceiveAsync()
    {
        var buffer = new byte[64 * 1024];
        using var message = new MemoryStream();
        while (!_stop.IsCancellationRequested && _socket.State == WebSocketState.Open)
        {
            var received = await _socket.ReceiveAsync(buffer, _stop.Token);
            if (received.MessageType == WebSocketMessageType.Close)
            {
                break;
            }

            message.Write(buffer, 0, received.Count);
            if (!received.EndOfMessage)
            {
                continue;
            }

            using (var document = JsonDocument.Parse(message.ToArray()))
            {
                // Events (no id) are not needed: every wait polls the page.
                if (document.RootElement.TryGetProperty("id", out var id) && _pending.TryRemove(id.GetInt32(), out var answer))
                {
                    answer.TrySetResult(document.RootElement.Clone());
                }
            }

            message.SetLength(0);
        }

        foreach (var answer in _pending.Values)
        {
            answer.TrySetException(new InvalidOperationException("the browser's DevTools connection closed"));
        }
    }

    [GeneratedRegex(@"DevTools listening on (ws://\S+)")]
    private static partial Regex DevToolsEndpoint();
}
