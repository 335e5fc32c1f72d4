using System.Globalization;

namespace PeerDistill.Cli;

/// <summary>
/// Training progress for a person: one line rewritten in place on a terminal, or a plain log line
/// every few seconds when the output is a file or a CI log.
/// </summary>
internal sealed class ProgressLine
{
    private static readonly TimeSpan LogEvery = TimeSpan.FromSeconds(15);
    private readonly TextWriter _output;
    private readonly long _total;
    private readonly int _batchSize;
    private readonly bool _interactive;
    private DateTime _lastLog = DateTime.UtcNow;
    private bool _dirty;

    public ProgressLine(TextWriter output, long total, int batchSize)
    {
        _output = output;
        _total = total;
        _batchSize = batchSize;
        _interactive = ReferenceEquals(output, Console.Out) && !Console.IsOutputRedirected;
    }

    public void Update(long step, int epoch, double loss, double samplesPerSecond)
    {
        var now = DateTime.UtcNow;
        if (!_interactive && now - _lastLog < LogEvery && step != _total)
        {
            return;
        }

        if (_interactive && step % 5 != 0 && step != _total)
        {
            return;
        }

        _lastLog = now;
        var remaining = samplesPerSecond > 0 ? TimeSpan.FromSeconds((_total - step) * (double)_batchSize / samplesPerSecond) : TimeSpan.Zero;
        var text = string.Create(CultureInfo.InvariantCulture,
            $"step {step}/{_total} (epoch {epoch})  loss {loss:F4}  {samplesPerSecond:F0} samples/s  ETA {remaining:hh\\:mm\\:ss}");
        if (_interactive)
        {
            _output.Write("\r" + text.PadRight(Math.Max(0, Console.WindowWidth - 1)));
            _dirty = true;
        }
        else
        {
            _output.WriteLine(text);
        }
    }

    public void Finish()
    {
        if (_dirty)
        {
            _output.WriteLine();
            _dirty = false;
        }
    }
}
