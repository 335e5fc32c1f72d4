using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;
using System.Text.Json.Serialization.Metadata;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;

namespace PeerDistill.Api.Ui;

/// <summary>
/// The Orleans dashboard's JSON, written with reflection metadata that the rest of the program does
/// not use. The package answers with <c>Results.Json</c> and System.Text.Json options of its own
/// (camelCase, fields included, TimeSpan as <c>c</c>) without a type resolver: in the trimmed
/// publish, where reflection-based JSON is off, every data call of the dashboard would fail. Its
/// answers are written again here, with the same settings and a reflection resolver of their own.
/// </summary>
internal static class OrleansDashboardJson
{
    /// <summary>The settings the dashboard writes its JSON with, and a reflection resolver.</summary>
    public static JsonSerializerOptions Options { get; } = CreateOptions();

    /// <summary>Any value, written as its type at run time.</summary>
    private static readonly JsonTypeInfo<object?> AnyValue = (JsonTypeInfo<object?>)Options.GetTypeInfo(typeof(object));

    /// <summary>A JSON answer of the dashboard as the same JSON with <see cref="Options"/>; anything else as it is.</summary>
    public static object? Rewrite(object? result) =>
        result is IValueHttpResult json && result.GetType() is { IsGenericType: true } type && type.GetGenericTypeDefinition() == typeof(JsonHttpResult<>)
            ? TypedResults.Json(json.Value, AnyValue, (result as IContentTypeHttpResult)?.ContentType, (result as IStatusCodeHttpResult)?.StatusCode)
            : result;

    [UnconditionalSuppressMessage("Trimming", "IL2026", Justification = "Only the dashboard's answers use it: its own types and Orleans', whose assemblies the trimmed publish keeps whole.")]
    [UnconditionalSuppressMessage("AOT", "IL3050", Justification = "The program is not compiled ahead of time (it is trimmed, with a JIT).")]
    private static JsonSerializerOptions CreateOptions()
    {
        var options = new JsonSerializerOptions
        {
            PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
            IncludeFields = true,
            TypeInfoResolver = new DefaultJsonTypeInfoResolver(),
        };
        options.Converters.Add(new InvariantTimeSpanConverter());
        options.MakeReadOnly();
        return options;
    }

    /// <summary>A TimeSpan as the dashboard writes it: the constant ("c") format.</summary>
    private sealed class InvariantTimeSpanConverter : JsonConverter<TimeSpan>
    {
        public override TimeSpan Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) =>
            TimeSpan.Parse(reader.GetString() ?? string.Empty, CultureInfo.InvariantCulture);

        public override void Write(Utf8JsonWriter writer, TimeSpan value, JsonSerializerOptions options) =>
            writer.WriteStringValue(value.ToString("c", CultureInfo.InvariantCulture));
    }
}
