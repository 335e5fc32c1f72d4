using System.Buffers;
using System.Buffers.Binary;
using System.IO.Pipelines;
using Google.Protobuf;
using Google.Protobuf.Reflection;
using Grpc.Core;
using Grpc.Net.Compression;
using Microsoft.AspNetCore.Http.Features;

namespace PeerDistill.Cluster.Transport.Internal;

/// <summary>
/// The request body of one gRPC call as Grpc.AspNetCore reads it, with gRPC's framing checked on the
/// way through: each message's 5-byte header (compressed flag 0 or 1, a grpc-encoding for flag 1, a
/// length within the receive limit), a body that does not end inside a message, a compressed message
/// that decompresses within the limit, and for a method that takes one request message (unary,
/// server streaming) exactly one message, which parses as the method's request. Bytes that fail are
/// answered by an <see cref="RpcException"/> from the read (see <see cref="MalformedRequest"/>), which
/// Grpc.AspNetCore turns into the call's status; Grpc.AspNetCore itself would throw exceptions of its
/// own for some of them, which end the call UNKNOWN with an error logged.
/// </summary>
/// <remarks>
/// Nothing is buffered or copied: a header is read once, when its 5 bytes have arrived; an
/// uncompressed message on a stream is never looked into. On a stream, the messages before a bad
/// header are read as usual and the refusal comes with the read that reaches it, as Grpc.AspNetCore
/// does with its own framing errors. A single request message is parsed here once more than usual
/// (a unary call's argument, never a stream's messages: theirs fail in the handler, see
/// <see cref="MalformedMessageInterceptor"/>); a compressed message is decompressed once more.
/// </remarks>
internal sealed class CheckedRequestReader : PipeReader, IRequestBodyPipeFeature
{
    private const string IdentityEncoding = "identity";

    /// <summary>How much decompressed data is read at a time while checking a compressed message.</summary>
    private const int DecompressionChunk = 64 * 1024;

    private readonly PipeReader _inner;
    private readonly MalformedRequestMiddleware _rules;
    private readonly IMethod _method;
    private readonly bool _single;
    private readonly MessageDescriptor? _message;
    private readonly string? _encoding;
    private readonly ICompressionProvider? _decompressor;

    // Offsets in the request body: where the inner reader's buffer starts (what the handler has consumed),
    // the next message header, and the last header read (its message may not have arrived whole yet).
    private long _consumed;
    private long _next;
    private long _last;
    private uint _lastLength;
    private bool _lastCompressed;
    private bool _lastToCheck;
    private int _messages;
    private ReadOnlySequence<byte> _returned;
    private RpcException? _refusal;
    private long _refusedAt;
    private bool _examinedAll;
    private bool _logged;

    public CheckedRequestReader(PipeReader inner, MalformedRequestMiddleware rules, IMethod method, MessageDescriptor? message, string? encoding)
    {
        _inner = inner;
        _rules = rules;
        _method = method;
        _single = method.Type is MethodType.Unary or MethodType.ServerStreaming;
        _message = message;
        _encoding = encoding;
        _decompressor = encoding is null ? null : rules.Decompressor(encoding);
    }

    PipeReader IRequestBodyPipeFeature.Reader => this;

    public override ValueTask<ReadResult> ReadAsync(CancellationToken cancellationToken = default)
    {
        ThrowIfRefusedHere();
        var read = _inner.ReadAsync(cancellationToken);
        return read.IsCompletedSuccessfully ? new ValueTask<ReadResult>(Inspect(read.Result)) : AwaitAsync(read);
    }

    public override bool TryRead(out ReadResult result)
    {
        ThrowIfRefusedHere();
        if (!_inner.TryRead(out var read))
        {
            result = default;
            return false;
        }

        result = Inspect(read);
        return true;
    }

    public override void AdvanceTo(SequencePosition consumed) => AdvanceTo(consumed, consumed);

    public override void AdvanceTo(SequencePosition consumed, SequencePosition examined)
    {
        if (!consumed.Equals(_returned.Start))
        {
            // (Reads that wait for the rest of a message consume nothing: no slicing for those.)
            _consumed += _returned.Slice(_returned.Start, consumed).Length;
        }

        if (_refusal is not null)
        {
            // The handler looked at everything before the refused bytes and wants more: it gets the refusal.
            _examinedAll = _returned.Slice(_returned.Start, examined).Length == _returned.Length;
        }

        _returned = default;
        _inner.AdvanceTo(consumed, examined);
    }

    public override void CancelPendingRead() => _inner.CancelPendingRead();

    public override void Complete(Exception? exception = null) => _inner.Complete(exception);

    public override ValueTask CompleteAsync(Exception? exception = null) => _inner.CompleteAsync(exception);

    private async ValueTask<ReadResult> AwaitAsync(ValueTask<ReadResult> read) => Inspect(await read.ConfigureAwait(false));

    private ReadResult Inspect(ReadResult result)
    {
        var buffer = result.Buffer;
        var end = _consumed + buffer.Length;
        while (_refusal is null)
        {
            if (_lastToCheck)
            {
                if (end < _next)
                {
                    break;
                }

                _lastToCheck = false;
                CheckMessage(buffer.Slice(_last + MalformedRequest.HeaderSize - _consumed, _lastLength));
                continue;
            }

            if (end <= _next)
            {
                break;
            }

            if (_single && _messages == 1)
            {
                Refuse(_next, MalformedRequest.MoreThanOne(_method.Name));
                break;
            }

            if (end - _next < MalformedRequest.HeaderSize)
            {
                break;
            }

            CheckHeader(buffer.Slice(_next - _consumed, MalformedRequest.HeaderSize));
        }

        if (result.IsCompleted && _refusal is null)
        {
            if (end < _next)
            {
                Refuse(_last, MalformedRequest.Truncated(end - _last - MalformedRequest.HeaderSize, _lastLength));
            }
            else if (end > _next)
            {
                Refuse(_next, MalformedRequest.TruncatedHeader(end - _next));
            }
            else if (_single && _messages == 0)
            {
                Refuse(_next, MalformedRequest.NoMessage(_method.Name));
            }
        }

        if (_refusal is null)
        {
            _returned = buffer;
            return result;
        }

        if (_single || _refusedAt <= _consumed)
        {
            // Nothing before the refused bytes is left to read (a single request message is refused whole).
            _inner.AdvanceTo(buffer.Start, buffer.End);
            throw Raise();
        }

        _returned = buffer.Slice(0, _refusedAt - _consumed);
        return new ReadResult(_returned, result.IsCanceled, isCompleted: false);
    }

    private void CheckHeader(ReadOnlySequence<byte> bytes)
    {
        Span<byte> header = stackalloc byte[MalformedRequest.HeaderSize];
        bytes.CopyTo(header);
        var flag = header[0];
        var length = BinaryPrimitives.ReadUInt32BigEndian(header[1..]);
        if (flag > 1)
        {
            Refuse(_next, MalformedRequest.UnknownFlag(flag));
            return;
        }

        if (length > _rules.Limit)
        {
            Refuse(_next, MalformedRequest.TooLarge(length, _rules.Limit));
            return;
        }

        if (flag == 1 && (string.IsNullOrEmpty(_encoding) || string.Equals(_encoding, IdentityEncoding, StringComparison.Ordinal)))
        {
            Refuse(_next, MalformedRequest.CompressedWithoutEncoding(_encoding));
            return;
        }

        _messages++;
        _last = _next;
        _lastLength = length;
        _lastCompressed = flag == 1;
        _next += MalformedRequest.HeaderSize + length;
        // An encoding the server does not know is Grpc.AspNetCore's to refuse (UNIMPLEMENTED, naming the ones it knows).
        _lastToCheck = _lastCompressed ? _decompressor is not null : _single && _message is not null;
    }

    private void CheckMessage(ReadOnlySequence<byte> payload)
    {
        if (_lastCompressed && !TryDecompress(ref payload))
        {
            return;
        }

        if (_single && _message is not null)
        {
            try
            {
                _message.Parser.ParseFrom(payload);
            }
            catch (InvalidProtocolBufferException e)
            {
                Refuse(_last, MalformedRequest.NotTheMessage(_message.FullName, e));
            }
        }
    }

    /// <summary>Decompresses a message, never beyond the receive limit; data that is not the encoding's is refused here (Grpc.AspNetCore would end the call UNKNOWN).</summary>
    private bool TryDecompress(ref ReadOnlySequence<byte> payload)
    {
        using var output = new MemoryStream();
        var chunk = ArrayPool<byte>.Shared.Rent(DecompressionChunk);
        try
        {
            using var input = new MemoryStream(payload.ToArray(), writable: false);
            using var decompressing = _decompressor!.CreateDecompressionStream(input);
            int read;
            while ((read = decompressing.Read(chunk)) > 0)
            {
                if (output.Length + read > _rules.Limit)
                {
                    Refuse(_last, MalformedRequest.DecompressesTooLarge(_encoding!, _rules.Limit));
                    return false;
                }

                output.Write(chunk, 0, read);
            }
        }
        catch (InvalidDataException)
        {
            Refuse(_last, MalformedRequest.NotDecompressible(_encoding!));
            return false;
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(chunk);
        }

        payload = new ReadOnlySequence<byte>(output.GetBuffer(), 0, (int)output.Length);
        return true;
    }

    private void Refuse(long at, RpcException refusal)
    {
        _refusal = refusal;
        _refusedAt = at;
    }

    private void ThrowIfRefusedHere()
    {
        if (_refusal is not null && (_consumed >= _refusedAt || _examinedAll))
        {
            throw Raise();
        }
    }

    private RpcException Raise()
    {
        if (!_logged)
        {
            _logged = true;
            RequestLog.MalformedRequest(_rules.Logger, _method.FullName, _refusal!.StatusCode, _refusal.Status.Detail);
        }

        return _refusal!;
    }
}
