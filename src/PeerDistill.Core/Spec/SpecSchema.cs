using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using PeerDistill.Core.Spec.Internal;

namespace PeerDistill.Core.Spec;

/// <summary>
/// The cohort spec as a JSON Schema (draft 2020-12) for editors, e.g. the VS Code YAML extension
/// (<c># yaml-language-server: $schema=cohort.schema.json</c>). Written from the same field tables
/// the loader reads with, so the two cannot disagree on keys, types, enums or ranges.
/// </summary>
public static class SpecSchema
{
    /// <summary>The schema dialect.</summary>
    public const string Dialect = "https://json-schema.org/draft/2020-12/schema";

    /// <summary>The schema as indented JSON.</summary>
    public static string ToJsonSchema()
    {
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer, new JsonWriterOptions
        {
            Indented = true,

            // Plain quotes and '>' in descriptions; the schema is read by editors, not embedded in HTML.
            Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
        }))
        {
            json.WriteStartObject();
            json.WriteString("$schema", Dialect);
            json.WriteString("title", "PeerDistill cohort spec");
            WriteObjectBody(json, SpecFields.Cohort);
            json.WriteEndObject();
        }

        return Encoding.UTF8.GetString(buffer.ToArray());
    }

    private static void WriteObjectBody(Utf8JsonWriter json, SpecObject table)
    {
        json.WriteString("description", table.Description);
        json.WriteString("type", "object");
        json.WriteStartObject("properties");
        foreach (var field in table.Fields)
        {
            json.WritePropertyName(field.Key);
            WriteField(json, field);
        }

        json.WriteEndObject();
        var required = table.Fields.Where(f => f.Required).ToList();
        if (required.Count > 0)
        {
            json.WriteStartArray("required");
            required.ForEach(f => json.WriteStringValue(f.Key));
            json.WriteEndArray();
        }

        json.WriteBoolean("additionalProperties", false);
    }

    private static void WriteField(Utf8JsonWriter json, SpecField field)
    {
        json.WriteStartObject();
        if (field.Kind == SpecValueKind.Object)
        {
            WriteObjectBody(json, field.Object!);
            json.WriteEndObject();
            return;
        }

        json.WriteString("description", field.Description);
        switch (field.Kind)
        {
            case SpecValueKind.String:
                json.WriteString("type", "string");
                break;
            case SpecValueKind.Integer:
                json.WriteString("type", "integer");
                break;
            case SpecValueKind.Number:
                json.WriteString("type", "number");
                break;
            case SpecValueKind.Boolean:
                json.WriteString("type", "boolean");
                break;
            case SpecValueKind.List:
                json.WriteString("type", "array");
                json.WritePropertyName("items");
                WriteField(json, field.Items!);
                break;
            case SpecValueKind.Map:
                json.WriteString("type", "object");
                if (field.KeyPattern is { } keyPattern)
                {
                    json.WriteStartObject("propertyNames");
                    json.WriteString("pattern", keyPattern);
                    json.WriteEndObject();
                }

                json.WritePropertyName("additionalProperties");
                WriteField(json, field.Items!);
                break;
            case SpecValueKind.ScalarOrList:
                json.WriteStartArray("type");
                json.WriteStringValue("string");
                json.WriteStringValue("number");
                json.WriteStringValue("boolean");
                json.WriteStringValue("array");
                json.WriteEndArray();
                json.WriteStartObject("items");
                json.WriteStartArray("type");
                json.WriteStringValue("string");
                json.WriteStringValue("number");
                json.WriteStringValue("boolean");
                json.WriteEndArray();
                json.WriteEndObject();
                json.WriteNumber("minItems", 1);
                break;
            default:
                throw new InvalidOperationException($"no schema for {field.Kind}");
        }

        WriteConstraints(json, field);
        json.WriteEndObject();
    }

    private static void WriteConstraints(Utf8JsonWriter json, SpecField field)
    {
        if (field.Allowed is { } allowed)
        {
            json.WriteStartArray("enum");
            foreach (var value in allowed)
            {
                json.WriteStringValue(value);
            }

            json.WriteEndArray();
        }

        if (field.Pattern is { } pattern)
        {
            json.WriteString("pattern", pattern);
        }

        if (field.Kind == SpecValueKind.String)
        {
            json.WriteNumber("maxLength", field.MaxLength);
        }

        if (field.Minimum is { } min)
        {
            json.WriteNumber(field.ExclusiveMinimum ? "exclusiveMinimum" : "minimum", min);
        }

        if (field.Maximum is { } max)
        {
            json.WriteNumber(field.ExclusiveMaximum ? "exclusiveMaximum" : "maximum", max);
        }

        if (field.MinItems is { } minItems)
        {
            json.WriteNumber("minItems", minItems);
        }

        if (field.MaxItems is { } maxItems)
        {
            json.WriteNumber("maxItems", maxItems);
        }

        if (field.Default is { } fallback)
        {
            json.WritePropertyName("default");
            WriteValue(json, fallback);
        }
    }

    private static void WriteValue(Utf8JsonWriter json, object value)
    {
        switch (value)
        {
            case string s:
                json.WriteStringValue(s);
                break;
            case bool b:
                json.WriteBooleanValue(b);
                break;
            case int i:
                json.WriteNumberValue(i);
                break;
            case long l:
                json.WriteNumberValue(l);
                break;
            case double d:
                json.WriteNumberValue(d);
                break;
            case double[] array:
                json.WriteStartArray();
                foreach (var item in array)
                {
                    json.WriteNumberValue(item);
                }

                json.WriteEndArray();
                break;
            default:
                throw new InvalidOperationException($"no JSON form for a default of type {value.GetType().Name}");
        }
    }
}
