"""Every T-SQL statement the SQL Server seam sends, by name, in one place.

The deployer's history and reflection statements, and the data operations the client commands
run (atoms, jobs, search, models). `STATEMENTS` is the explicit registry the T-SQL gate
(tools/tsql_gate) parses and reference-checks: a statement added here without being registered
is a test failure (tests/test_tsql_gate.py), so nothing the deployer sends escapes the gate.
Parameters are pyodbc `?` markers; values are never concatenated into the text. DDL, which takes
no parameters (the shadow database's CREATE and DROP DATABASE), is built by the functions below
from templates, each name quoted by deployer.source.render's tsql_identifier and tsql_string, and
STATEMENTS holds it as it is sent for an example shadow.
"""

from __future__ import annotations

from deployer.source.render import tsql_identifier, tsql_string

HISTORY_DDL = [
    "IF SCHEMA_ID(N'deploy') IS NULL EXEC(N'CREATE SCHEMA deploy AUTHORIZATION dbo');",
    """IF OBJECT_ID(N'deploy.Deployments', N'U') IS NULL
CREATE TABLE deploy.Deployments (
    DeploymentId   BIGINT IDENTITY(1, 1) NOT NULL CONSTRAINT PK_Deployments PRIMARY KEY,
    PackageVersion NVARCHAR(64)   NOT NULL,
    StartedAt      DATETIME2(3)   NOT NULL CONSTRAINT DF_Deployments_StartedAt DEFAULT SYSUTCDATETIME(),
    FinishedAt     DATETIME2(3)   NULL,
    Status         NVARCHAR(16)   NOT NULL CONSTRAINT DF_Deployments_Status DEFAULT N'running'
        CONSTRAINT CK_Deployments_Status CHECK (Status IN (N'running', N'succeeded', N'failed', N'no changes')),
    DeployedBy     NVARCHAR(128)  NOT NULL CONSTRAINT DF_Deployments_DeployedBy DEFAULT SUSER_SNAME(),
    Summary        NVARCHAR(4000) NULL
);""",
    """IF OBJECT_ID(N'deploy.DeploymentHistory', N'U') IS NULL
CREATE TABLE deploy.DeploymentHistory (
    HistoryId      BIGINT IDENTITY(1, 1) NOT NULL CONSTRAINT PK_DeploymentHistory PRIMARY KEY,
    DeploymentId   BIGINT        NOT NULL
        CONSTRAINT FK_DeploymentHistory_Deployments REFERENCES deploy.Deployments (DeploymentId),
    ObjectName     NVARCHAR(256) NOT NULL,
    ObjectKind     NVARCHAR(32)  NOT NULL,
    Stage          TINYINT       NOT NULL,
    Action         NVARCHAR(16)  NOT NULL,
    TextHash       CHAR(64)      NOT NULL,
    LiveHash       CHAR(64)      NULL,
    PackageVersion NVARCHAR(64)  NOT NULL,
    DeployedAt     DATETIME2(3)  NOT NULL CONSTRAINT DF_DeploymentHistory_DeployedAt DEFAULT SYSUTCDATETIME()
);""",
    """IF OBJECT_ID(N'deploy.DeployedObjects', N'U') IS NULL
CREATE TABLE deploy.DeployedObjects (
    ObjectName     NVARCHAR(256) NOT NULL CONSTRAINT PK_DeployedObjects PRIMARY KEY,
    ObjectKind     NVARCHAR(32)  NOT NULL,
    Stage          TINYINT       NOT NULL,
    TextHash       CHAR(64)      NOT NULL,
    LiveHash       CHAR(64)      NULL,
    PackageVersion NVARCHAR(64)  NOT NULL,
    DeployedAt     DATETIME2(3)  NOT NULL,
    DeploymentId   BIGINT        NOT NULL
        CONSTRAINT FK_DeployedObjects_Deployments REFERENCES deploy.Deployments (DeploymentId)
);""",
]

FORGET_SQL = """SET NOCOUNT ON;
INSERT INTO deploy.DeploymentHistory (DeploymentId, ObjectName, ObjectKind, Stage, Action, TextHash, PackageVersion)
VALUES (?, ?, ?, ?, ?, ?, ?);
DELETE FROM deploy.DeployedObjects WHERE ObjectName = ?;"""

LIVE_HASH_SQL = """SET NOCOUNT ON;
UPDATE deploy.DeployedObjects SET LiveHash = ? WHERE ObjectName = ?;
UPDATE deploy.DeploymentHistory SET LiveHash = ?
WHERE HistoryId = (SELECT MAX(HistoryId) FROM deploy.DeploymentHistory WHERE ObjectName = ?);"""

# Objects in the given schemas that the package may not know: user tables, views, procedures and
# functions (the catalog queries of the drift report). The history table SQL Server creates for a
# system-versioned table (dbo.ModelTensorChunksHistory) is part of that table, not unknown.
UNKNOWN_OBJECTS_SQL = """SELECT CASE o.type WHEN 'U' THEN N'table' WHEN 'V' THEN N'view' WHEN 'P' THEN N'procedure'
                   WHEN 'PC' THEN N'CLR procedure' WHEN 'TA' THEN N'CLR trigger'
                   WHEN 'FS' THEN N'CLR function' WHEN 'FT' THEN N'CLR function'
                   ELSE N'function' END AS Kind,
       s.name + N'.' + o.name AS Name
FROM sys.objects AS o
INNER JOIN sys.schemas AS s ON s.schema_id = o.schema_id
LEFT JOIN sys.tables AS t ON t.object_id = o.object_id
WHERE o.type IN ('U', 'V', 'P', 'FN', 'IF', 'TF', 'PC', 'FS', 'FT', 'TA') AND o.is_ms_shipped = 0
  AND COALESCE(t.temporal_type, 0) <> 1 -- a history table (temporal_type 1) belongs to its system-versioned table
UNION ALL
SELECT N'assembly' AS Kind, N'dbo.' + a.name AS Name
FROM sys.assemblies AS a
WHERE a.is_user_defined = 1
ORDER BY Name;"""

RECORD_SQL = """SET NOCOUNT ON;
INSERT INTO deploy.DeploymentHistory (DeploymentId, ObjectName, ObjectKind, Stage, Action, TextHash, PackageVersion)
VALUES (?, ?, ?, ?, ?, ?, ?);
MERGE deploy.DeployedObjects AS target
USING (SELECT ? AS ObjectName, ? AS ObjectKind, ? AS Stage, ? AS TextHash, ? AS PackageVersion, ? AS DeploymentId) AS source
ON target.ObjectName = source.ObjectName
WHEN MATCHED THEN UPDATE SET ObjectKind = source.ObjectKind, Stage = source.Stage, TextHash = source.TextHash,
    PackageVersion = source.PackageVersion, DeployedAt = SYSUTCDATETIME(), DeploymentId = source.DeploymentId
WHEN NOT MATCHED THEN INSERT (ObjectName, ObjectKind, Stage, TextHash, PackageVersion, DeployedAt, DeploymentId)
    VALUES (source.ObjectName, source.ObjectKind, source.Stage, source.TextHash, source.PackageVersion,
            SYSUTCDATETIME(), source.DeploymentId);"""

EXISTS_SQL = {
    "schema": "SELECT 1 WHERE SCHEMA_ID(?) IS NOT NULL",
    "table": "SELECT 1 WHERE OBJECT_ID(?, N'U') IS NOT NULL",
    "view": "SELECT 1 WHERE OBJECT_ID(?, N'V') IS NOT NULL",
    "procedure": "SELECT 1 WHERE OBJECT_ID(?, N'P') IS NOT NULL",
    "function": "SELECT 1 FROM sys.objects WHERE object_id = OBJECT_ID(?) AND type IN ('FN', 'IF', 'TF')",
    "queue": "SELECT 1 FROM sys.service_queues WHERE object_id = OBJECT_ID(?)",
    "library": "SELECT 1 FROM sys.external_libraries WHERE name = ? AND principal_id = DATABASE_PRINCIPAL_ID(N'dbo')",
}

# Columns added to the history after its first release (see the PostgreSQL seam)
HISTORY_UPGRADE_SQL = """IF COL_LENGTH(N'deploy.DeploymentHistory', N'LiveHash') IS NULL
    ALTER TABLE deploy.DeploymentHistory ADD LiveHash CHAR(64) NULL;
IF COL_LENGTH(N'deploy.DeployedObjects', N'LiveHash') IS NULL
    ALTER TABLE deploy.DeployedObjects ADD LiveHash CHAR(64) NULL;"""
DATABASE_ID_SQL = "SELECT DB_ID(?);"
HISTORY_EXISTS_SQL = "SELECT OBJECT_ID(N'deploy.DeployedObjects', N'U');"
DEPLOYED_OBJECTS_SQL = """SELECT d.ObjectName, d.ObjectKind, d.Stage, d.TextHash, d.PackageVersion,
       CONVERT(NVARCHAR(33), d.DeployedAt, 126) AS DeployedAt, d.LiveHash,
       COALESCE((SELECT MAX(h.HistoryId) FROM deploy.DeploymentHistory AS h
                 WHERE h.ObjectName = d.ObjectName AND h.Action = N'create'), 0) AS CreatedOrder
FROM deploy.DeployedObjects AS d;"""
# one publish at a time per database: an application lock owned by the deploying session
LOCK_SQL = """SET NOCOUNT ON;
DECLARE @result INT;
EXEC @result = sys.sp_getapplock @Resource = ?, @LockMode = N'Exclusive', @LockOwner = N'Session',
    @LockTimeout = 0, @DbPrincipal = N'public';
SELECT @result;"""
BEGIN_DEPLOYMENT_SQL = """SET NOCOUNT ON;
INSERT INTO deploy.Deployments (PackageVersion, Summary)
OUTPUT INSERTED.DeploymentId
VALUES (?, ?);"""
FINISH_DEPLOYMENT_SQL = """UPDATE deploy.Deployments
SET FinishedAt = SYSUTCDATETIME(), Status = ?, Summary = ?
WHERE DeploymentId = ?;"""
# SQLAlchemy's SQL Server dialect reflects neither CHECK nor UNIQUE constraints: the table
# comparison reads them here (parameters: schema, table)
CHECK_CONSTRAINTS_SQL = """SELECT cc.name, cc.[definition]
FROM sys.check_constraints AS cc
INNER JOIN sys.tables AS t ON t.object_id = cc.parent_object_id
INNER JOIN sys.schemas AS s ON s.schema_id = t.schema_id
WHERE s.name = ? AND t.name = ?;"""
UNIQUE_CONSTRAINTS_SQL = """SELECT kc.name, c.name
FROM sys.key_constraints AS kc
INNER JOIN sys.tables AS t ON t.object_id = kc.parent_object_id
INNER JOIN sys.schemas AS s ON s.schema_id = t.schema_id
INNER JOIN sys.index_columns AS ic ON ic.object_id = kc.parent_object_id AND ic.index_id = kc.unique_index_id
INNER JOIN sys.columns AS c ON c.object_id = ic.object_id AND c.column_id = ic.column_id
WHERE kc.type = 'UQ' AND s.name = ? AND t.name = ?
ORDER BY kc.name, ic.key_ordinal;"""
DEFINITION_SQL = "SELECT OBJECT_DEFINITION(OBJECT_ID(?));"
SCHEMA_ID_SQL = "SELECT SCHEMA_ID(?);"
# what the rendering needs to know of the server, readable by any login (sys.dm_os_host_info needs
# VIEW SERVER PERFORMANCE STATE on 2022+): the path separator ('/' on Linux, which has no FILESTREAM),
# the default data folder (where a FILESTREAM container goes unless --filestream-path says otherwise)
# and the FILESTREAM level the instance runs with (2 or more: T-SQL access on)
SERVER_SQL = """SELECT CONVERT(NCHAR(1), SERVERPROPERTY('PathSeparator')),
       CONVERT(NVARCHAR(4000), SERVERPROPERTY('InstanceDefaultDataPath')),
       CONVERT(INT, SERVERPROPERTY('FilestreamEffectiveLevel'));"""
# the history table of a system-versioned table (temporal_type 2), as schema.name
HISTORY_TABLE_SQL = """SELECT OBJECT_SCHEMA_NAME(t.history_table_id) + N'.' + OBJECT_NAME(t.history_table_id)
FROM sys.tables AS t
WHERE t.object_id = OBJECT_ID(?) AND t.temporal_type = 2;"""
LIBRARY_FINGERPRINT_SQL = """SELECT CONCAT(l.name, N'|', l.language, N'|', DATALENGTH(f.content), N'|',
              CONVERT(NVARCHAR(64), HASHBYTES('SHA2_256', f.content), 2))
FROM sys.external_libraries AS l
INNER JOIN sys.external_library_files AS f ON f.external_library_id = l.external_library_id
WHERE l.name = ? AND l.principal_id = DATABASE_PRINCIPAL_ID(N'dbo');"""


# ---- the shadow database (MssqlEngine.shadow: the table comparison of deployer.target.state) -------
# The filegroups the package creates and its tables need, which the shadow database needs too, each
# with a container of its own: db/prerequisites/FilestreamFilegroup.mssql.sql's, which the FILESTREAM
# tables are created ON (FILESTREAM_ON HartonomousFilestream), when the rendering has FILESTREAM; and
# always MemoryOptimizedFilegroup.mssql.sql's: a memory-optimized table cannot be created in a
# database without a MEMORY_OPTIMIZED_DATA filegroup. CREATE DATABASE with a filegroup must name its
# primary data file as well; the log goes where a plain CREATE DATABASE puts it (the instance's
# default log folder).
FILESTREAM_FILEGROUP = "HartonomousFilestream"
INMEMORY_FILEGROUP = "HartonomousInMemory"
_CREATE_SHADOW = """CREATE DATABASE {database}
ON PRIMARY (NAME = {data_name}, FILENAME = {data_file}),
{filegroups};"""
_SHADOW_FILEGROUP = "FILEGROUP {filegroup} CONTAINS {contents} (NAME = {name}, FILENAME = {container})"
# SINGLE_USER WITH ROLLBACK IMMEDIATE: sessions the driver manager still pools in the shadow would
# otherwise keep DROP DATABASE from running. DROP DATABASE deletes its files, the containers too.
_DROP_SHADOW = """ALTER DATABASE {database} SET SINGLE_USER WITH ROLLBACK IMMEDIATE;
DROP DATABASE {database};"""


def _shadow_filegroup(filegroup: str, contents: str, name: str, container: str) -> str:
    return _SHADOW_FILEGROUP.format(filegroup=tsql_identifier(filegroup), contents=contents, name=tsql_string(name),
                                    container=tsql_string(container))


def create_shadow_sql(database: str, data_file: str, inmemory_container: str,
                      filestream_container: str | None = None) -> str:
    """CREATE DATABASE for a shadow: its primary data file, its In-Memory OLTP container, and its
    FILESTREAM container when the rendering stores payloads in FILESTREAM (None when it does not:
    --skip-filestream, Linux)."""
    filegroups = []
    if filestream_container is not None:
        filegroups.append(_shadow_filegroup(FILESTREAM_FILEGROUP, "FILESTREAM", f"{database}_Filestream",
                                            filestream_container))
    filegroups.append(_shadow_filegroup(INMEMORY_FILEGROUP, "MEMORY_OPTIMIZED_DATA", f"{database}_InMemory",
                                        inmemory_container))
    return _CREATE_SHADOW.format(database=tsql_identifier(database), data_name=tsql_string(database),
                                 data_file=tsql_string(data_file), filegroups=",\n".join(filegroups))


def drop_shadow_sql(database: str) -> str:
    return _DROP_SHADOW.format(database=tsql_identifier(database))


# what the gate parses for the shadow: the statements as sent for an example shadow of Hartonomous
_EXAMPLE_SHADOW = "Hartonomous_shadow_0123abcd"
_EXAMPLE_DATA = "C:\\Program Files\\Microsoft SQL Server\\MSSQL16.MSSQLSERVER\\MSSQL\\DATA\\"


# ---- data operations (deployer.client through engines.mssql.data) --------------------------------
EMBEDDING_JOB_RESUME_SQL = ("SELECT TOP (1) IngestionJobId, AtomsProcessed FROM dbo.IngestionJobs WHERE JobType = N'embeddings' "
                            "AND Source = ? AND TenantId = ? AND Status IN (N'Running', N'Failed') ORDER BY IngestionJobId DESC;")
EMBEDDING_JOB_START_SQL = ("SET NOCOUNT ON; INSERT INTO dbo.IngestionJobs (TenantId, JobType, Status, Source, TotalItems, "
                           "StartTime, Parameters) OUTPUT INSERTED.IngestionJobId VALUES (?, N'embeddings', N'Running', ?, ?, "
                           "SYSUTCDATETIME(), ?);")
EMBEDDING_JOB_RESTART_SQL = ("UPDATE dbo.IngestionJobs SET Status = N'Running', ErrorMessage = NULL, TotalItems = ? "
                             "WHERE IngestionJobId = ?;")
INGEST_ATOM_SQL = ("EXEC dbo.sp_IngestAtom @Content = ?, @ContentType = ?, @Metadata = ?, @TenantId = ?, "
                   "@GenerateEmbedding = 1;")
INGEST_ATOMS_SQL = "EXEC dbo.sp_IngestAtoms @Atoms = ?, @TenantId = ?, @GenerateEmbedding = 1;"
JOB_PROGRESS_SQL = "UPDATE dbo.IngestionJobs SET AtomsProcessed = ? WHERE IngestionJobId = ?;"
JOB_FINISH_SQL = ("UPDATE dbo.IngestionJobs SET Status = ?, ErrorMessage = ?, EndTime = SYSUTCDATETIME() "
                  "WHERE IngestionJobId = ?;")
SEMANTIC_SEARCH_SQL = "EXEC dbo.sp_SemanticSearch @query_text = ?, @top_k = ?, @use_hybrid = ?, @TenantId = ?;"

MODEL_JOB_START_SQL = ("SET NOCOUNT ON; INSERT INTO dbo.IngestionJobs (TenantId, JobType, Status, Source, StartTime, "
                       "Parameters) OUTPUT INSERTED.IngestionJobId VALUES (?, N'model', N'Running', ?, SYSUTCDATETIME(), ?);")
MODEL_BY_SOURCE_SQL = "SELECT ModelId FROM dbo.Models WHERE TenantId = ? AND SourceHash = ?;"
MODEL_JOB_FAILED_SQL = ("UPDATE dbo.IngestionJobs SET Status = N'Failed', EndTime = SYSUTCDATETIME(), ErrorMessage = ? "
                        "WHERE IngestionJobId = ?;")
MODEL_JOB_COMPLETED_SQL = ("UPDATE dbo.IngestionJobs SET Status = N'Completed', EndTime = SYSUTCDATETIME(), "
                           "TotalItems = ?, AtomsProcessed = ?, Parameters = JSON_MODIFY(COALESCE(Parameters, N'{}'), "
                           "'$.result', JSON_QUERY(?)) WHERE IngestionJobId = ?;")
# the key keeps one row per chunk even if a chunk is sent twice (dbo.sp_StoreModel's NOT EXISTS
# does not dedupe its own source), and serves sp_StoreModel's lookups
CHUNKS_TABLE_SQL = ("IF OBJECT_ID(N'tempdb..#chunks') IS NOT NULL DROP TABLE #chunks; "
                    "CREATE TABLE #chunks (ChunkHash BINARY(32) NOT NULL PRIMARY KEY WITH (IGNORE_DUP_KEY = ON), "
                    "ByteSize INT NOT NULL, Data VARBINARY(MAX) NOT NULL);")
DROP_CHUNKS_TABLE_SQL = "DROP TABLE IF EXISTS #chunks;"
PUT_CHUNK_SQL = "INSERT INTO #chunks (ChunkHash, ByteSize, Data) VALUES (?, ?, ?);"
STORE_MODEL_SQL = ("SET NOCOUNT ON; DECLARE @ModelId INT; EXEC dbo.sp_StoreModel @Manifest = ?, @TenantId = ?, "
                   "@ModelId = @ModelId OUTPUT; SELECT @ModelId;")
# the store's one reader (dbo.fn_StoredModel, dbo.fn_StoredModelTensors, dbo.fn_TensorChunk), as
# dbo.sp_GenerateEmbedding and dbo.sp_GenerateText read it
MODEL_SQL = "SELECT ModelFormat, Architecture, Config, SourceHash, FormatSkeleton FROM dbo.fn_StoredModel(?, ?);"
MODEL_TENSORS_SQL = ("SELECT TensorName, DType, Shape, ByteSize, ChunkHashes FROM dbo.fn_StoredModelTensors(?) "
                     "ORDER BY TensorIndex;")
CHUNK_SQL = "SELECT dbo.fn_TensorChunk(?);"
# the presence check takes up to CHUNK_ROUND hashes: well under SQL Server's 2,100 parameters
CHUNK_ROUND = 64
CHUNKS_PRESENT_SQL = ("SELECT ChunkHash FROM dbo.TensorChunks WHERE ChunkHash IN ("
                      + ", ".join(["?"] * CHUNK_ROUND) + ");")

# the autonomous loop (dbo.sp_StartAutonomousLoop, dbo.sp_StopAutonomousLoop, dbo.sp_HealthCheck):
# Service Broker activation runs the phases, so there is no schedule to add or remove
LOOP_START_SQL = ("SET NOCOUNT ON; DECLARE @MessageId BIGINT, @Started INT; "
                  "EXEC dbo.sp_StartAutonomousLoop @UnlessStopped = ?, @MessageId = @MessageId OUTPUT, "
                  "@Started = @Started OUTPUT; SELECT @MessageId, @Started;")
LOOP_STOP_SQL = "EXEC dbo.sp_StopAutonomousLoop;"
HEALTH_SQL = "EXEC dbo.sp_HealthCheck;"

# the state of a role, of the security policy and of the roles' permissions, as text to hash:
# what drift compares (NULL: missing)
ROLE_STATE_SQL = """SELECT CONCAT(p.name, N'|', p.type, N'|', USER_NAME(p.owning_principal_id))
FROM sys.database_principals AS p
WHERE p.name = ? AND p.type = 'R';"""
POLICY_STATE_SQL = """SELECT CONCAT(sp.is_enabled, N'|', sp.is_schema_bound, N'|',
              STRING_AGG(CAST(CONCAT(OBJECT_SCHEMA_NAME(pr.target_object_id), N'.', OBJECT_NAME(pr.target_object_id),
                                     N' ', pr.predicate_type_desc, N' ', pr.operation_desc, N' ',
                                     pr.predicate_definition) AS NVARCHAR(MAX)), NCHAR(10))
                  WITHIN GROUP (ORDER BY OBJECT_SCHEMA_NAME(pr.target_object_id), OBJECT_NAME(pr.target_object_id),
                                pr.predicate_type, pr.operation, pr.predicate_definition))
FROM sys.security_policies AS sp
LEFT JOIN sys.security_predicates AS pr ON pr.object_id = sp.object_id
WHERE sp.object_id = OBJECT_ID(?)
GROUP BY sp.is_enabled, sp.is_schema_bound;"""
GRANT_STATE_SQL = """SELECT STRING_AGG(g.Line, NCHAR(10)) WITHIN GROUP (ORDER BY g.Line)
FROM (SELECT CAST(CONCAT(r.name, N' ', p.state_desc, N' ', p.permission_name, N' ', p.class_desc, N' ',
                         CASE p.class WHEN 1 THEN CONCAT(OBJECT_SCHEMA_NAME(p.major_id), N'.', OBJECT_NAME(p.major_id),
                                                         N' ', COL_NAME(p.major_id, NULLIF(p.minor_id, 0)))
                                      WHEN 3 THEN SCHEMA_NAME(p.major_id) END) AS NVARCHAR(MAX)) AS Line
      FROM sys.database_permissions AS p
      INNER JOIN sys.database_principals AS r ON r.principal_id = p.grantee_principal_id
      WHERE r.name IN (?, ?, ?, ?) AND p.class IN (0, 1, 3) AND p.permission_name <> N'CONNECT') AS g;"""
# python -m deployer grant: the login, its user in this database (created for it when missing), the
# role membership and the tenant mapping
LOGIN_TYPE_SQL = "SELECT type FROM sys.server_principals WHERE name = ? AND type IN ('S', 'U', 'G', 'E', 'X');"
LOGIN_USER_SQL = "SELECT name FROM sys.database_principals WHERE sid = SUSER_SID(?) AND type IN ('S', 'U', 'G', 'E', 'X');"
CREATE_LOGIN_USER_SQL = """DECLARE @Statement NVARCHAR(600) = CONCAT(N'CREATE USER ', QUOTENAME(?), N' FOR LOGIN ', QUOTENAME(?), N';');
EXEC sys.sp_executesql @Statement;"""
ROLE_EXISTS_SQL = "SELECT DATABASE_PRINCIPAL_ID(?);"
ROLE_ADD_MEMBER_SQL = """DECLARE @Statement NVARCHAR(600) = CONCAT(N'ALTER ROLE ', QUOTENAME(?), N' ADD MEMBER ', QUOTENAME(?), N';');
EXEC sys.sp_executesql @Statement;"""
ROLE_DROP_MEMBER_SQL = """DECLARE @Statement NVARCHAR(600) = CONCAT(N'ALTER ROLE ', QUOTENAME(?), N' DROP MEMBER ', QUOTENAME(?), N';');
EXEC sys.sp_executesql @Statement;"""
MAP_TENANT_SQL = """INSERT INTO dbo.TenantPrincipals (PrincipalName, TenantId)
SELECT ?, ?
WHERE NOT EXISTS (SELECT 1 FROM dbo.TenantPrincipals WITH (UPDLOCK, HOLDLOCK) WHERE PrincipalName = ? AND TenantId = ?);"""
UNMAP_TENANT_SQL = "DELETE FROM dbo.TenantPrincipals WHERE PrincipalName = ? AND TenantId = ?;"
UNMAP_ALL_SQL = "DELETE FROM dbo.TenantPrincipals WHERE PrincipalName = ?;"
# the tables whose rows table_checksums reads: the package's schemas and the history
CHECKSUM_TABLES_SQL = """SELECT s.name, t.name
FROM sys.tables AS t
INNER JOIN sys.schemas AS s ON s.schema_id = t.schema_id
WHERE s.name IN (N'dbo', N'graph', N'provenance', N'Reasoning', N'Attention', N'deploy') AND t.is_ms_shipped = 0
ORDER BY s.name, t.name;"""


def _registry() -> dict[str, str]:
    statements = {f"HISTORY_DDL[{i}]": text for i, text in enumerate(HISTORY_DDL)}
    statements.update({f"EXISTS_SQL[{kind!r}]": text for kind, text in EXISTS_SQL.items()})
    for name in (
        "FORGET_SQL", "LIVE_HASH_SQL", "UNKNOWN_OBJECTS_SQL", "RECORD_SQL", "HISTORY_UPGRADE_SQL",
        "DATABASE_ID_SQL", "HISTORY_EXISTS_SQL", "DEPLOYED_OBJECTS_SQL", "LOCK_SQL", "BEGIN_DEPLOYMENT_SQL",
        "FINISH_DEPLOYMENT_SQL", "CHECK_CONSTRAINTS_SQL", "UNIQUE_CONSTRAINTS_SQL", "DEFINITION_SQL",
        "SCHEMA_ID_SQL", "SERVER_SQL", "HISTORY_TABLE_SQL", "LIBRARY_FINGERPRINT_SQL",
        "EMBEDDING_JOB_RESUME_SQL", "EMBEDDING_JOB_START_SQL", "EMBEDDING_JOB_RESTART_SQL", "INGEST_ATOM_SQL", "INGEST_ATOMS_SQL",
        "JOB_PROGRESS_SQL", "JOB_FINISH_SQL", "SEMANTIC_SEARCH_SQL", "MODEL_JOB_START_SQL", "MODEL_BY_SOURCE_SQL",
        "MODEL_JOB_FAILED_SQL", "MODEL_JOB_COMPLETED_SQL", "CHUNKS_TABLE_SQL", "DROP_CHUNKS_TABLE_SQL", "PUT_CHUNK_SQL", "STORE_MODEL_SQL",
        "MODEL_SQL", "MODEL_TENSORS_SQL", "CHUNK_SQL", "CHUNKS_PRESENT_SQL", "LOOP_START_SQL", "LOOP_STOP_SQL", "HEALTH_SQL",
        "ROLE_STATE_SQL", "POLICY_STATE_SQL", "GRANT_STATE_SQL", "LOGIN_TYPE_SQL", "LOGIN_USER_SQL",
        "CREATE_LOGIN_USER_SQL", "ROLE_EXISTS_SQL", "ROLE_ADD_MEMBER_SQL", "ROLE_DROP_MEMBER_SQL", "MAP_TENANT_SQL", "UNMAP_TENANT_SQL", "UNMAP_ALL_SQL",
        "CHECKSUM_TABLES_SQL",
    ):
        statements[name] = globals()[name]
    shadow_files = (f"{_EXAMPLE_DATA}{_EXAMPLE_SHADOW}.mdf", f"{_EXAMPLE_DATA}{_EXAMPLE_SHADOW}_InMemory")
    statements["create_shadow_sql(no filestream)"] = create_shadow_sql(_EXAMPLE_SHADOW, *shadow_files)
    statements["create_shadow_sql(filestream)"] = create_shadow_sql(
        _EXAMPLE_SHADOW, *shadow_files, f"{_EXAMPLE_DATA}{_EXAMPLE_SHADOW}_Filestream")
    statements["drop_shadow_sql"] = drop_shadow_sql(_EXAMPLE_SHADOW)
    return statements


# name -> text, as the seam sends it (with `?` markers); the T-SQL gate's input
STATEMENTS: dict[str, str] = _registry()
