-- Migration 1 (PostgreSQL): what Orleans' ADO.NET grain storage and membership read and write.
-- Orleans reads its query texts by key from OrleansQuery (loaded once when a silo or client starts),
-- binds bare parameter names (@GrainIdHash, ...) and reads result columns by name, case-insensitively
-- (unquoted names fold to lower case here). It opens no transaction: each query is one statement, and
-- the two membership writes that must change two tables together are functions.

CREATE TABLE orleansquery
(
    querykey varchar(64) NOT NULL PRIMARY KEY,
    querytext text NOT NULL
);

-- Grain state: one row per grain state, identified by the seven values Orleans binds.
CREATE TABLE orleansstorage
(
    grainidhash integer NOT NULL,
    grainidn0 bigint NOT NULL,
    grainidn1 bigint NOT NULL,
    graintypehash integer NOT NULL,
    graintypestring text NOT NULL,
    grainidextensionstring text NULL,
    serviceid text NOT NULL,
    payloadbinary bytea NULL,
    modifiedon timestamptz NOT NULL,
    version integer NULL
);

CREATE UNIQUE INDEX ix_orleansstorage_identity ON orleansstorage
    (grainidhash, graintypehash, grainidn0, grainidn1, graintypestring, serviceid, COALESCE(grainidextensionstring, ''));

INSERT INTO orleansquery (querykey, querytext) VALUES ('ReadFromStorageKey', $q$
SELECT payloadbinary AS PayloadBinary, version AS Version
FROM orleansstorage
WHERE grainidhash = @GrainIdHash AND graintypehash = @GrainTypeHash
    AND grainidn0 = @GrainIdN0 AND grainidn1 = @GrainIdN1
    AND graintypestring = @GrainTypeString AND grainidextensionstring IS NOT DISTINCT FROM @GrainIdExtensionString
    AND serviceid = @ServiceId
LIMIT 1
$q$);

-- Exactly one row on success, none on a conflict (Orleans then throws InconsistentStateException).
-- Without an ETag: insert version 1 unless the row exists (a concurrent insert waits on the unique
-- index, then does nothing); with one: update where the version still matches (a concurrent update
-- waits on the row lock, then re-checks the version).
INSERT INTO orleansquery (querykey, querytext) VALUES ('WriteToStorageKey', $q$
WITH inserted AS (
    INSERT INTO orleansstorage (grainidhash, grainidn0, grainidn1, graintypehash, graintypestring, grainidextensionstring, serviceid, payloadbinary, modifiedon, version)
    SELECT @GrainIdHash, @GrainIdN0, @GrainIdN1, @GrainTypeHash, @GrainTypeString, @GrainIdExtensionString, @ServiceId, @PayloadBinary, now(), 1
    WHERE @GrainStateVersion IS NULL
    ON CONFLICT DO NOTHING
    RETURNING version),
updated AS (
    UPDATE orleansstorage
    SET payloadbinary = @PayloadBinary, modifiedon = now(), version = version + 1
    WHERE @GrainStateVersion IS NOT NULL
        AND grainidhash = @GrainIdHash AND graintypehash = @GrainTypeHash
        AND grainidn0 = @GrainIdN0 AND grainidn1 = @GrainIdN1
        AND graintypestring = @GrainTypeString AND grainidextensionstring IS NOT DISTINCT FROM @GrainIdExtensionString
        AND serviceid = @ServiceId AND version = @GrainStateVersion
    RETURNING version)
SELECT version AS NewGrainStateVersion FROM inserted
UNION ALL
SELECT version FROM updated
$q$);

INSERT INTO orleansquery (querykey, querytext) VALUES ('ClearStorageKey', $q$
UPDATE orleansstorage
SET payloadbinary = NULL, modifiedon = now(), version = version + 1
WHERE grainidhash = @GrainIdHash AND graintypehash = @GrainTypeHash
    AND grainidn0 = @GrainIdN0 AND grainidn1 = @GrainIdN1
    AND graintypestring = @GrainTypeString AND grainidextensionstring IS NOT DISTINCT FROM @GrainIdExtensionString
    AND serviceid = @ServiceId AND version = @GrainStateVersion
RETURNING version AS NewGrainStateVersion
$q$);

INSERT INTO orleansquery (querykey, querytext) VALUES ('DeleteStorageKey', $q$
DELETE FROM orleansstorage
WHERE grainidhash = @GrainIdHash AND graintypehash = @GrainTypeHash
    AND grainidn0 = @GrainIdN0 AND grainidn1 = @GrainIdN1
    AND graintypestring = @GrainTypeString AND grainidextensionstring IS NOT DISTINCT FROM @GrainIdExtensionString
    AND serviceid = @ServiceId AND version = @GrainStateVersion
RETURNING version + 1 AS NewGrainStateVersion
$q$);

-- Membership: a version row per deployment (the cluster id), compared and advanced by every
-- membership change, and one row per silo incarnation (address, port, generation).
CREATE TABLE orleansmembershipversiontable
(
    deploymentid text NOT NULL PRIMARY KEY,
    updatedat timestamptz NOT NULL DEFAULT now(),
    version integer NOT NULL DEFAULT 0
);

CREATE TABLE orleansmembershiptable
(
    deploymentid text NOT NULL REFERENCES orleansmembershipversiontable (deploymentid),
    address text NOT NULL,
    port integer NOT NULL,
    generation integer NOT NULL,
    siloname text NOT NULL,
    hostname text NOT NULL,
    status integer NOT NULL,
    proxyport integer NOT NULL,
    suspecttimes text NULL,
    starttime timestamptz NOT NULL,
    iamalivetime timestamptz NOT NULL,
    PRIMARY KEY (deploymentid, address, port, generation)
);

-- Inserts a silo's row and advances the table version, both or neither: 1 when done, 0 when the
-- version moved on or the row exists (the exception block rolls the version change back).
CREATE FUNCTION orleans_insert_membership(
    p_deploymentid text, p_iamalivetime timestamptz, p_siloname text, p_hostname text, p_address text,
    p_port integer, p_generation integer, p_starttime timestamptz, p_status integer, p_proxyport integer, p_version integer)
RETURNS integer LANGUAGE plpgsql AS $f$
BEGIN
    UPDATE orleansmembershipversiontable SET version = version + 1, updatedat = now()
    WHERE deploymentid = p_deploymentid AND version = p_version;
    IF NOT FOUND THEN
        RETURN 0;
    END IF;
    INSERT INTO orleansmembershiptable (deploymentid, address, port, generation, siloname, hostname, status, proxyport, suspecttimes, starttime, iamalivetime)
    VALUES (p_deploymentid, p_address, p_port, p_generation, p_siloname, p_hostname, p_status, p_proxyport, NULL, p_starttime, p_iamalivetime);
    RETURN 1;
EXCEPTION WHEN unique_violation THEN
    RETURN 0;
END
$f$;

-- Updates a silo's row and advances the table version, both or neither: 1 when done, else 0.
CREATE FUNCTION orleans_update_membership(
    p_deploymentid text, p_address text, p_port integer, p_generation integer, p_iamalivetime timestamptz,
    p_status integer, p_suspecttimes text, p_version integer)
RETURNS integer LANGUAGE plpgsql AS $f$
BEGIN
    UPDATE orleansmembershipversiontable SET version = version + 1, updatedat = now()
    WHERE deploymentid = p_deploymentid AND version = p_version;
    IF NOT FOUND THEN
        RETURN 0;
    END IF;
    UPDATE orleansmembershiptable SET status = p_status, suspecttimes = p_suspecttimes, iamalivetime = p_iamalivetime
    WHERE deploymentid = p_deploymentid AND address = p_address AND port = p_port AND generation = p_generation;
    IF NOT FOUND THEN
        RAISE no_data_found;
    END IF;
    RETURN 1;
EXCEPTION WHEN no_data_found THEN
    RETURN 0;
END
$f$;

-- The version row of a deployment, created once: 1 when created, 0 when it existed.
INSERT INTO orleansquery (querykey, querytext) VALUES ('InsertMembershipVersionKey', $q$
WITH created AS (
    INSERT INTO orleansmembershipversiontable (deploymentid) VALUES (@DeploymentId)
    ON CONFLICT DO NOTHING
    RETURNING 1)
SELECT count(*)::integer FROM created
$q$);

-- Every member with the table version, or (no member) one row with the version alone.
INSERT INTO orleansquery (querykey, querytext) VALUES ('MembershipReadAllKey', $q$
SELECT v.deploymentid AS DeploymentId, m.address AS Address, m.port AS Port, m.generation AS Generation,
    m.siloname AS SiloName, m.hostname AS HostName, m.status AS Status, m.proxyport AS ProxyPort,
    m.suspecttimes AS SuspectTimes, m.starttime AS StartTime, m.iamalivetime AS IAmAliveTime, v.version AS Version
FROM orleansmembershipversiontable v
LEFT OUTER JOIN orleansmembershiptable m ON m.deploymentid = v.deploymentid
WHERE v.deploymentid = @DeploymentId
$q$);

INSERT INTO orleansquery (querykey, querytext) VALUES ('MembershipReadRowKey', $q$
SELECT v.deploymentid AS DeploymentId, m.address AS Address, m.port AS Port, m.generation AS Generation,
    m.siloname AS SiloName, m.hostname AS HostName, m.status AS Status, m.proxyport AS ProxyPort,
    m.suspecttimes AS SuspectTimes, m.starttime AS StartTime, m.iamalivetime AS IAmAliveTime, v.version AS Version
FROM orleansmembershipversiontable v
LEFT OUTER JOIN orleansmembershiptable m ON m.deploymentid = v.deploymentid
    AND m.address = @Address AND m.port = @Port AND m.generation = @Generation
WHERE v.deploymentid = @DeploymentId
$q$);

INSERT INTO orleansquery (querykey, querytext) VALUES ('InsertMembershipKey', $q$
SELECT orleans_insert_membership(@DeploymentId, @IAmAliveTime, @SiloName, @HostName, @Address, @Port, @Generation, @StartTime, @Status, @ProxyPort, @Version)
$q$);

INSERT INTO orleansquery (querykey, querytext) VALUES ('UpdateMembershipKey', $q$
SELECT orleans_update_membership(@DeploymentId, @Address, @Port, @Generation, @IAmAliveTime, @Status, @SuspectTimes, @Version)
$q$);

-- The heartbeat: no version check, no version change.
INSERT INTO orleansquery (querykey, querytext) VALUES ('UpdateIAmAlivetimeKey', $q$
UPDATE orleansmembershiptable SET iamalivetime = @IAmAliveTime
WHERE deploymentid = @DeploymentId AND address = @Address AND port = @Port AND generation = @Generation
$q$);

INSERT INTO orleansquery (querykey, querytext) VALUES ('DeleteMembershipTableEntriesKey', $q$
DELETE FROM orleansmembershiptable WHERE deploymentid = @DeploymentId;
DELETE FROM orleansmembershipversiontable WHERE deploymentid = @DeploymentId
$q$);

-- Gateways for clients: active silos (@Status is Active) that listen for clients.
INSERT INTO orleansquery (querykey, querytext) VALUES ('GatewaysQueryKey', $q$
SELECT address AS Address, proxyport AS ProxyPort, generation AS Generation
FROM orleansmembershiptable
WHERE deploymentid = @DeploymentId AND status = @Status AND proxyport > 0
$q$);

-- Rows of silos declared dead (6) whose last heartbeat and start are older than the cut-off.
INSERT INTO orleansquery (querykey, querytext) VALUES ('CleanupDefunctSiloEntriesKey', $q$
DELETE FROM orleansmembershiptable
WHERE deploymentid = @DeploymentId AND status = 6 AND iamalivetime < @IAmAliveTime AND starttime < @IAmAliveTime
$q$);
