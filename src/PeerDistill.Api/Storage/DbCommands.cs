using System.Data;
using System.Data.Common;

namespace PeerDistill.Api.Storage;

/// <summary>Commands with typed parameters (a null keeps its type, which PostgreSQL needs) and column readers, the same on both engines.</summary>
internal static class DbCommands
{
    public static DbCommand Command(this DbConnection connection, string sql, DbTransaction? transaction = null)
    {
        var command = connection.CreateCommand();
        command.CommandText = sql;
        command.Transaction = transaction;
        return command;
    }

    public static DbCommand With(this DbCommand command, string name, string? value) => command.With(name, value, DbType.String);

    public static DbCommand With(this DbCommand command, string name, long? value) => command.With(name, value, DbType.Int64);

    /// <summary>A double; NaN and infinities are stored as null (SQLite cannot hold NaN, and both engines must answer alike).</summary>
    public static DbCommand With(this DbCommand command, string name, double? value) => command.With(name, value is { } v && double.IsFinite(v) ? v : null, DbType.Double);

    public static void Set(this DbCommand command, string name, object? value)
    {
        var parameter = command.Parameters[name];
        parameter.Value = value switch
        {
            null => DBNull.Value,
            double d when !double.IsFinite(d) => DBNull.Value,
            _ => value,
        };
    }

    public static string? NullableString(this DbDataReader reader, string column)
    {
        var ordinal = reader.GetOrdinal(column);
        return reader.IsDBNull(ordinal) ? null : reader.GetString(ordinal);
    }

    public static long Long(this DbDataReader reader, string column) => Convert.ToInt64(reader.GetValue(reader.GetOrdinal(column)), System.Globalization.CultureInfo.InvariantCulture);

    public static long? NullableLong(this DbDataReader reader, string column)
    {
        var ordinal = reader.GetOrdinal(column);
        return reader.IsDBNull(ordinal) ? null : Convert.ToInt64(reader.GetValue(ordinal), System.Globalization.CultureInfo.InvariantCulture);
    }

    public static double? NullableDouble(this DbDataReader reader, string column)
    {
        var ordinal = reader.GetOrdinal(column);
        return reader.IsDBNull(ordinal) ? null : reader.GetDouble(ordinal);
    }

    public static DateTimeOffset Time(this DbDataReader reader, string column) => DateTimeOffset.FromUnixTimeMilliseconds(reader.Long(column));

    public static DateTimeOffset? NullableTime(this DbDataReader reader, string column) => reader.NullableLong(column) is { } ms ? DateTimeOffset.FromUnixTimeMilliseconds(ms) : null;

    private static DbCommand With(this DbCommand command, string name, object? value, DbType type)
    {
        var parameter = command.CreateParameter();
        parameter.ParameterName = name;
        parameter.DbType = type;
        parameter.Value = value ?? DBNull.Value;
        command.Parameters.Add(parameter);
        return command;
    }
}
