using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Text.Json;
using PeerDistill.Cluster.Hosting;

namespace PeerDistill.Cli.Tests.Telemetry;

/// <summary>
/// Debian's Prometheus server (<c>apt-get install prometheus</c>) as a process of the test: its
/// configuration and storage in a directory of the test, its web API on a free loopback port;
/// killed (with its children) on dispose. Every line it logs goes to the test's log.
/// </summary>
internal sealed class PrometheusServer : IAsyncDisposable
{
    /// <summary>The server's binary.</summary>
    public const string Binary = "/usr/bin/prometheus";

    /// <summary>Its configuration checker, from the same package.</summary>
    public const string Promtool = "/usr/bin/promtool";

    /// <summary>How long the server may take to answer <c>/-/ready</c>.</summary>
    private static readonly TimeSpan ReadyWithin = TimeSpan.FromSeconds(30);

    private readonly Process _process;
    private readonly HttpClient _http;

    private PrometheusServer(Process process, Uri address)
    {
        _process = process;
        Address = address;
        _http = new HttpClient { BaseAddress = address, Timeout = TimeSpan.FromSeconds(30) };
    }

    /// <summary>Null where the server and promtool are installed, else why the tests that need them are skipped.</summary>
    public static string? UnavailableReason =>
        File.Exists(Binary) && File.Exists(Promtool) ? null : $"Prometheus not found at {Binary} (apt-get install prometheus; ./build.sh test installs it)";

    /// <summary>The server's web address, e.g. <c>http://127.0.0.1:41234/</c>.</summary>
    public Uri Address { get; }

    /// <summary>
    /// Starts the server with <paramref name="configuration"/> (prometheus.yml's text) under
    /// <paramref name="directory"/> and waits until it is ready. A port taken between its choice and
    /// the server's bind is chosen again (three tries).
    /// </summary>
    public static async Task<PrometheusServer> StartAsync(string configuration, string directory, Action<string> log)
    {
        var config = Path.Combine(directory, "prometheus.yml");
        await File.WriteAllTextAsync(config, configuration);
        for (var attempt = 1; ; attempt++)
        {
            var port = FreePort.Resolve(IPAddress.Loopback, 0);
            var info = new ProcessStartInfo(Binary)
            {
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                UseShellExecute = false,
                WorkingDirectory = directory,
            };
            foreach (var arg in (string[])[
                "--config.file=" + config,
                "--storage.tsdb.path=" + Path.Combine(directory, "data-" + attempt.ToString(CultureInfo.InvariantCulture)),
                "--web.listen-address=127.0.0.1:" + port.ToString(CultureInfo.InvariantCulture),
                "--log.level=info"])
            {
                info.ArgumentList.Add(arg);
            }

            var process = Process.Start(info) ?? throw new InvalidOperationException($"{Binary} did not start");
            process.OutputDataReceived += (_, e) => Log(log, e.Data);
            process.ErrorDataReceived += (_, e) => Log(log, e.Data);
            process.BeginOutputReadLine();
            process.BeginErrorReadLine();
            var server = new PrometheusServer(process, new Uri($"http://127.0.0.1:{port.ToString(CultureInfo.InvariantCulture)}/"));
            if (await server.WaitReadyAsync())
            {
                return server;
            }

            await server.DisposeAsync();
            if (attempt == 3)
            {
                throw new InvalidOperationException($"Prometheus did not get ready in {ReadyWithin.TotalSeconds} s (three tries; its lines are in the test's output)");
            }
        }
    }

    /// <summary>
    /// An instant query through the HTTP API (<c>/api/v1/query</c>): the series of a vector answer;
    /// an expression Prometheus refuses throws with its error.
    /// </summary>
    public async Task<IReadOnlyList<PrometheusSeries>> QueryAsync(string promql)
    {
        using var json = await GetAsync("api/v1/query?query=" + Uri.EscapeDataString(promql), promql);
        var data = json.RootElement.GetProperty("data");
        var type = data.GetProperty("resultType").GetString();
        if (type != "vector")
        {
            throw new InvalidOperationException($"'{promql}' answered a {type}, not a vector");
        }

        return [.. data.GetProperty("result").EnumerateArray().Select(series => new PrometheusSeries(
            series.GetProperty("metric").EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetString()!, StringComparer.Ordinal),
            double.Parse(series.GetProperty("value")[1].GetString()!, NumberStyles.Float, CultureInfo.InvariantCulture)))];
    }

    /// <summary>The values of <paramref name="label"/> on the series <paramref name="selector"/> selects (<c>/api/v1/label/.../values</c>, what Grafana's <c>label_values</c> asks).</summary>
    public async Task<IReadOnlyList<string>> LabelValuesAsync(string label, string selector)
    {
        using var json = await GetAsync($"api/v1/label/{Uri.EscapeDataString(label)}/values?match[]={Uri.EscapeDataString(selector)}", selector);
        return [.. json.RootElement.GetProperty("data").EnumerateArray().Select(v => v.GetString()!)];
    }

    public async ValueTask DisposeAsync()
    {
        _http.Dispose();
        try
        {
            if (!_process.HasExited)
            {
                _process.Kill(entireProcessTree: true);
            }

            await _process.WaitForExitAsync();
        }
        catch (InvalidOperationException)
        {
        }

        _process.Dispose();
    }

    private async Task<JsonDocument> GetAsync(string path, string what)
    {
        using var response = await _http.GetAsync(path);
        var body = await response.Content.ReadAsStringAsync();
        var json = JsonDocument.Parse(body);
        if (json.RootElement.GetProperty("status").GetString() != "success")
        {
            json.Dispose();
            throw new InvalidOperationException($"Prometheus refused '{what}' ({(int)response.StatusCode}): {body}");
        }

        return json;
    }

    private async Task<bool> WaitReadyAsync()
    {
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < ReadyWithin && !_process.HasExited)
        {
            try
            {
                using var ready = await _http.GetAsync("-/ready");
                if (ready.StatusCode == HttpStatusCode.OK)
                {
                    return true;
                }
            }
            catch (HttpRequestException)
            {
                // Not listening yet.
            }

            await Task.Delay(100);
        }

        return false;
    }

    private static void Log(Action<string> log, string? line)
    {
        if (line is null)
        {
            return;
        }

        try
        {
            log("[prometheus] " + line);
        }
        catch (InvalidOperationException)
        {
            // The test is over.
        }
    }
}
