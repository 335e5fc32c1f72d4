-- Migration 1 (SQLite): what Orleans' ADO.NET grain storage reads and writes.
-- Orleans reads its query texts by key from OrleansQuery (loaded once when a silo starts) and binds
-- bare parameter names (@GrainIdHash, ...). SQLite has no Orleans membership provider: with SQLite the
-- coordinator is the primary silo (development clustering), so only the storage keys are here.

CREATE TABLE OrleansQuery
(
    QueryKey TEXT NOT NULL PRIMARY KEY,
    QueryText TEXT NOT NULL
);

-- One row per grain state. The identity is the seven values Orleans binds; the extension string is
-- null for most keys, so uniqueness goes through IFNULL (plain UNIQUE treats NULLs as distinct).
CREATE TABLE OrleansStorage
(
    GrainIdHash INTEGER NOT NULL,
    GrainIdN0 INTEGER NOT NULL,
    GrainIdN1 INTEGER NOT NULL,
    GrainTypeHash INTEGER NOT NULL,
    GrainTypeString TEXT NOT NULL,
    GrainIdExtensionString TEXT NULL,
    ServiceId TEXT NOT NULL,
    PayloadBinary BLOB NULL,
    ModifiedOn TEXT NOT NULL,
    Version INTEGER NULL
);

CREATE UNIQUE INDEX IX_OrleansStorage_Identity ON OrleansStorage
    (GrainIdHash, GrainTypeHash, GrainIdN0, GrainIdN1, GrainTypeString, ServiceId, IFNULL(GrainIdExtensionString, ''));

-- At most one row: the payload (NULL after a clear) and the version (the ETag).
INSERT INTO OrleansQuery (QueryKey, QueryText) VALUES ('ReadFromStorageKey', '
SELECT PayloadBinary, Version
FROM OrleansStorage
WHERE GrainIdHash = @GrainIdHash AND GrainTypeHash = @GrainTypeHash
    AND GrainIdN0 = @GrainIdN0 AND GrainIdN1 = @GrainIdN1
    AND GrainTypeString = @GrainTypeString AND GrainIdExtensionString IS @GrainIdExtensionString
    AND ServiceId = @ServiceId
LIMIT 1;');

-- Exactly one row (NewGrainStateVersion) on success, none on a conflict (Orleans then throws
-- InconsistentStateException). Without an ETag: insert version 1 unless the row exists; with one:
-- update where the version still matches. Only one of the two statements can change anything, and
-- each is one atomic statement (Orleans opens no transaction).
INSERT INTO OrleansQuery (QueryKey, QueryText) VALUES ('WriteToStorageKey', '
INSERT INTO OrleansStorage (GrainIdHash, GrainIdN0, GrainIdN1, GrainTypeHash, GrainTypeString, GrainIdExtensionString, ServiceId, PayloadBinary, ModifiedOn, Version)
SELECT @GrainIdHash, @GrainIdN0, @GrainIdN1, @GrainTypeHash, @GrainTypeString, @GrainIdExtensionString, @ServiceId, @PayloadBinary, CURRENT_TIMESTAMP, 1
WHERE @GrainStateVersion IS NULL
ON CONFLICT DO NOTHING
RETURNING Version AS NewGrainStateVersion;
UPDATE OrleansStorage
SET PayloadBinary = @PayloadBinary, ModifiedOn = CURRENT_TIMESTAMP, Version = Version + 1
WHERE @GrainStateVersion IS NOT NULL
    AND GrainIdHash = @GrainIdHash AND GrainTypeHash = @GrainTypeHash
    AND GrainIdN0 = @GrainIdN0 AND GrainIdN1 = @GrainIdN1
    AND GrainTypeString = @GrainTypeString AND GrainIdExtensionString IS @GrainIdExtensionString
    AND ServiceId = @ServiceId AND Version = @GrainStateVersion
RETURNING Version AS NewGrainStateVersion;');

-- Clear keeps the row (payload NULL) and advances the version; no row on a conflict.
INSERT INTO OrleansQuery (QueryKey, QueryText) VALUES ('ClearStorageKey', '
UPDATE OrleansStorage
SET PayloadBinary = NULL, ModifiedOn = CURRENT_TIMESTAMP, Version = Version + 1
WHERE GrainIdHash = @GrainIdHash AND GrainTypeHash = @GrainTypeHash
    AND GrainIdN0 = @GrainIdN0 AND GrainIdN1 = @GrainIdN1
    AND GrainTypeString = @GrainTypeString AND GrainIdExtensionString IS @GrainIdExtensionString
    AND ServiceId = @ServiceId AND Version = @GrainStateVersion
RETURNING Version AS NewGrainStateVersion;');

-- Delete (DeleteStateOnClear) must still answer a version different from the ETag it was given.
INSERT INTO OrleansQuery (QueryKey, QueryText) VALUES ('DeleteStorageKey', '
DELETE FROM OrleansStorage
WHERE GrainIdHash = @GrainIdHash AND GrainTypeHash = @GrainTypeHash
    AND GrainIdN0 = @GrainIdN0 AND GrainIdN1 = @GrainIdN1
    AND GrainTypeString = @GrainTypeString AND GrainIdExtensionString IS @GrainIdExtensionString
    AND ServiceId = @ServiceId AND Version = @GrainStateVersion
RETURNING Version + 1 AS NewGrainStateVersion;');
