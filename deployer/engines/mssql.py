"""SQL Server engine seam (pyodbc: msodbcsql18 at users, FreeTDS where that is what exists).

Objects are executed batch by batch (the GO-separated batches of their rendered text). Objects
whose kind SQL Server cannot run inside a user transaction (database, server and database
settings: CREATE/ALTER DATABASE, sp_configure + RECONFIGURE) run in autocommit; everything
else runs in one transaction with its history row. Objects with `-- context: server` run from
master, then the connection returns to the target database.

Credentials come from the connection string given by the environment ($HARTONOMOUS_MSSQL_DSN)
or, for an mssql+pyodbc:// URL, from $HARTONOMOUS_MSSQL_PASSWORD. They are never printed: the
label shown to people is built from server and database only.
"""

from __future__ import annotations

import hashlib
import os
import re
import uuid
from contextlib import contextmanager
from typing import Iterator
from urllib.parse import parse_qsl, unquote, urlsplit

from deployer.catalog import DbObject
from deployer.engines.base import ApplyError, CheckResult, DeployedObject, TargetError
from deployer.render import DEFAULT_DATABASE, RenderedObject, check_database_name, split_batches

PASSWORD_ENV = "HARTONOMOUS_MSSQL_PASSWORD"
AUTOCOMMIT_KINDS = {"database", "setting"}

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
# functions (the catalog queries of the drift report).
UNKNOWN_OBJECTS_SQL = """SELECT CASE o.type WHEN 'U' THEN N'table' WHEN 'V' THEN N'view' WHEN 'P' THEN N'procedure'
                   WHEN 'PC' THEN N'CLR procedure' WHEN 'TA' THEN N'CLR trigger'
                   WHEN 'FS' THEN N'CLR function' WHEN 'FT' THEN N'CLR function'
                   ELSE N'function' END AS Kind,
       s.name + N'.' + o.name AS Name
FROM sys.objects AS o
INNER JOIN sys.schemas AS s ON s.schema_id = o.schema_id
WHERE o.type IN ('U', 'V', 'P', 'FN', 'IF', 'TF', 'PC', 'FS', 'FT', 'TA') AND o.is_ms_shipped = 0
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
    "library": "SELECT 1 FROM sys.external_libraries WHERE name = ?",
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
LIBRARY_FINGERPRINT_SQL = """SELECT CONCAT(l.name, N'|', l.language, N'|', DATALENGTH(f.content), N'|',
              CONVERT(NVARCHAR(64), HASHBYTES('SHA2_256', f.content), 2))
FROM sys.external_libraries AS l
INNER JOIN sys.external_library_files AS f ON f.external_library_id = l.external_library_id
WHERE l.name = ?;"""


def own_sql() -> dict[str, str]:
    """Every statement this module sends, by name: the T-SQL gate and reference check read them."""
    statements = {f"HISTORY_DDL[{i}]": text for i, text in enumerate(HISTORY_DDL)}
    statements.update({name: value for name, value in globals().items()
                       if name.endswith("_SQL") and isinstance(value, str)})
    statements.update({f"EXISTS_SQL[{kind!r}]": text for kind, text in EXISTS_SQL.items()})
    return statements



def parse_connection_string(text: str) -> list[tuple[str, str]]:
    pairs = []
    for part in re.findall(r"(?:[^;{]|\{[^}]*\})+", text):
        if "=" in part:
            key, value = part.split("=", 1)
            pairs.append((key.strip(), value.strip()))
    return pairs


def url_to_odbc(url: str) -> str:
    """mssql+pyodbc://user@host:port/db?driver=...&TrustServerCertificate=yes -> an ODBC string."""
    parts = urlsplit(url)
    query = dict(parse_qsl(parts.query))
    driver = query.pop("driver", "ODBC Driver 18 for SQL Server")
    pairs = [("DRIVER", "{" + driver + "}")]
    server = parts.hostname or "localhost"
    if parts.port:
        server += f",{parts.port}"
    pairs.append(("SERVER", server))
    database = unquote(parts.path.lstrip("/"))
    if database:
        pairs.append(("DATABASE", database))
    if parts.username:
        pairs.append(("UID", unquote(parts.username)))
        password = unquote(parts.password) if parts.password else os.environ.get(PASSWORD_ENV)
        if password is None:
            raise TargetError(f"{url.split('@')[-1]}: a user is given but no password; set ${PASSWORD_ENV}")
        pairs.append(("PWD", "{" + password.replace("}", "}}") + "}"))
    else:
        pairs.append(("Trusted_Connection", "yes"))
    pairs.extend(query.items())
    return ";".join(f"{k}={v}" for k, v in pairs)


def _odbc_message(exc: Exception) -> str:
    text = str(exc.args[1]) if len(exc.args) > 1 else str(exc)
    text = re.sub(r"\[[^\]]*\]", "", text)  # driver prefixes: [Microsoft][ODBC Driver 18...]
    text = re.sub(r"\(\d+\)\s*\(SQL\w+\)", "", text)
    return " ".join(text.split())


class MssqlEngine:
    name = "mssql"

    def __init__(self, target: str, *, database: str | None = None):
        odbc = url_to_odbc(target) if target.strip().lower().startswith("mssql+") else target
        pairs = parse_connection_string(odbc)
        self.database = check_database_name(
            database or next((v for k, v in pairs if k.upper() in ("DATABASE", "INITIAL CATALOG")), DEFAULT_DATABASE)
        )
        server = next((v for k, v in pairs if k.upper() in ("SERVER", "DSN", "ADDRESS")), "?")
        self.label = f"mssql://{server}/{self.database}"
        # connect to master: the database itself may not exist yet (stage 1 creates it)
        self._odbc = ";".join(
            f"{k}={v}" for k, v in pairs if k.upper() not in ("DATABASE", "INITIAL CATALOG")
        ) + ";DATABASE=master"
        self.conn = None
        self._in_database = False

    def connect(self, *, create_database: bool = True) -> None:
        try:
            import pyodbc
        except ImportError as exc:
            raise TargetError(f"pyodbc is not usable here ({exc}); install unixODBC and an ODBC driver") from None
        try:
            self.conn = pyodbc.connect(self._odbc, autocommit=True)
        except pyodbc.Error as exc:
            raise TargetError(f"cannot connect to {self.label}: {_odbc_message(exc)}") from None
        self._use_database()

    def _use_database(self) -> None:
        exists = self.conn.execute(DATABASE_ID_SQL, self.database).fetchone()[0] is not None
        if exists:
            self.conn.execute(f"USE [{self.database}]")
        self._in_database = exists

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()
            self.conn = None

    def deployed_objects(self) -> dict[str, DeployedObject]:
        if self.conn is None or not self._in_database:
            return {}
        if self.conn.execute(HISTORY_EXISTS_SQL).fetchone()[0] is None:
            return {}
        rows = self.conn.execute(DEPLOYED_OBJECTS_SQL).fetchall()
        return {r[0]: DeployedObject(r[0], r[1], int(r[2]), r[3], r[4], r[5], r[6], int(r[7])) for r in rows}

    def _ensure_history(self) -> None:
        if not self._in_database:
            self._use_database()
        if not self._in_database:
            raise TargetError(f"database {self.database} does not exist on {self.label}")
        for statement in HISTORY_DDL:
            self.conn.execute(statement)
        self.conn.execute(HISTORY_UPGRADE_SQL)

    @property
    def database_exists(self) -> bool:
        return self._in_database

    def lock(self) -> None:
        """One publish at a time per database: a session-owned application lock, always taken in
        master (the target database may not exist yet), released when the connection closes."""
        self.conn.execute("USE [master]")
        try:
            granted = self.conn.execute(LOCK_SQL, f"hartonomous-deployer:{self.database}").fetchone()[0]
        finally:
            self._use_database()
        if granted < 0:
            raise TargetError(f"another publish to {self.label} is running (application lock is held)")

    def begin_deployment(self, package_version: str, summary: str) -> int:
        self._deployment_args = (package_version, summary)
        self._deployment_id: int | None = None
        return 0  # the row is written once the database exists (after stage 1 created it)

    def _deployment_row(self) -> int:
        if self._deployment_id is None:
            self._ensure_history()
            package_version, summary = self._deployment_args
            self._deployment_id = int(self.conn.execute(BEGIN_DEPLOYMENT_SQL, package_version, summary).fetchone()[0])
        return self._deployment_id

    def finish_deployment(self, deployment_id: int, status: str, summary: str) -> None:
        if self.conn is None or not self._in_database:
            return
        self.conn.execute(FINISH_DEPLOYMENT_SQL, status, summary, self._deployment_row())

    def apply(self, obj: DbObject, sql_text: str, action: str, text_hash: str, deployment_id: int,
              package_version: str) -> None:
        import pyodbc

        transactional = obj.kind not in AUTOCOMMIT_KINDS
        if obj.context != "server" and not self._in_database:
            self._use_database()
            if not self._in_database:
                raise ApplyError(obj, f"database {self.database} does not exist (its creation failed or was skipped)")
        try:
            if obj.context == "server":
                self.conn.execute("USE [master]")
            self.conn.autocommit = not transactional
            for number, batch in enumerate(split_batches(sql_text) if sql_text.strip() else [], start=1):
                try:
                    cursor = self.conn.execute(batch)
                    while cursor.nextset():
                        pass
                except pyodbc.Error as exc:
                    raise ApplyError(obj, f"batch {number}: {_odbc_message(exc)}") from None
            if obj.context == "server":
                self._use_database()
            deployment = self._deployment_row()
            if action == "drop":
                self.conn.execute(FORGET_SQL, deployment, obj.name, obj.kind, int(obj.stage), action, text_hash,
                                  package_version, obj.name)
            else:
                self.conn.execute(
                    RECORD_SQL,
                    deployment, obj.name, obj.kind, int(obj.stage), action, text_hash, package_version,
                    obj.name, obj.kind, int(obj.stage), text_hash, package_version, deployment,
                )
            if transactional:
                self.conn.commit()
        except BaseException:
            if transactional and self.conn is not None:
                self.conn.rollback()
            raise
        finally:
            if self.conn is not None:
                self.conn.autocommit = True
                if obj.context == "server":  # never leave the session in master, also after a failure
                    self._use_database()
        if action != "drop":
            live = self.fingerprints([obj]).get(obj.name)
            self.conn.execute(LIVE_HASH_SQL, live, obj.name, live, obj.name)

    def drop_sql(self, name: str, kind: str) -> str:
        schema, _, bare = name.rpartition(".")
        target = f"[{schema}].[{bare}]" if schema else f"[{bare}]"
        statements = {
            "table": f"DROP TABLE IF EXISTS {target};",
            "view": f"DROP VIEW IF EXISTS {target};",
            "function": f"DROP FUNCTION IF EXISTS {target};",
            "procedure": f"DROP PROCEDURE IF EXISTS {target};",
            "library": f"DROP EXTERNAL LIBRARY [{bare}];",
            "schema": f"DROP SCHEMA IF EXISTS [{bare}];",
        }
        return statements.get(kind, "") + ("\n" if kind in statements else "")

    # comparing -------------------------------------------------------------------------------
    def _odbc_for(self, database: str) -> str:
        return self._odbc.rsplit(";DATABASE=master", 1)[0] + f";DATABASE={database}"

    def sqlalchemy_engine(self):
        import pyodbc
        import sqlalchemy as sa

        odbc = self._odbc_for(self.database)
        return sa.create_engine("mssql+pyodbc://", creator=lambda: pyodbc.connect(odbc),
                                poolclass=sa.pool.NullPool)

    def count(self, query: str) -> int:
        return int(self.conn.execute(query).fetchone()[0])

    @contextmanager
    def shadow(self, objects: list[RenderedObject]) -> Iterator["MssqlEngine"]:
        """A throw-away database on the same server holding `objects`, for schema comparison."""
        import pyodbc

        name = f"{self.database[:80]}_shadow_{uuid.uuid4().hex[:8]}"
        try:
            self.conn.execute(f"CREATE DATABASE [{name}]")
        except pyodbc.Error as exc:
            raise TargetError(f"cannot create the shadow database the table comparison needs on {self.label}: "
                              f"{_odbc_message(exc)}") from None
        shadow = MssqlEngine(self._odbc_for(name), database=name)
        try:
            shadow.connect()
            for rendered in objects:
                for batch in rendered.batches:
                    try:
                        shadow.conn.execute(batch)
                    except pyodbc.Error as exc:
                        raise TargetError(f"{rendered.obj.name} ({rendered.obj.source_label}) fails in the shadow "
                                          f"database: {_odbc_message(exc)}") from None
            yield shadow
        finally:
            shadow.close()
            self.conn.execute("USE [master]")
            self.conn.execute(f"ALTER DATABASE [{name}] SET SINGLE_USER WITH ROLLBACK IMMEDIATE")
            self.conn.execute(f"DROP DATABASE [{name}]")
            self._use_database()

    def fingerprints(self, objects: list[DbObject]) -> dict[str, str | None]:
        import sqlalchemy as sa

        from deployer.schema_diff import table_fingerprint

        result: dict[str, str | None] = {}
        inspector = None
        for obj in objects:
            schema, _, bare = obj.name.rpartition(".")
            text = None
            if not self._in_database:
                result[obj.name] = None
                continue
            if obj.kind == "table":
                if inspector is None:
                    sa_engine = self.sqlalchemy_engine()
                    sa_connection = sa_engine.connect()
                    inspector = sa.inspect(sa_connection)
                if inspector.has_table(bare, schema=schema or "dbo"):
                    text = table_fingerprint(inspector, schema or "dbo", bare)
                result[obj.name] = text
                continue
            if obj.kind in ("procedure", "function", "view"):
                text = self.conn.execute(DEFINITION_SQL, obj.name).fetchone()[0]
            elif obj.kind == "library":
                row = self.conn.execute(LIBRARY_FINGERPRINT_SQL, obj.name).fetchone()
                text = row[0] if row else None
            elif obj.kind == "schema":
                text = "schema" if self.conn.execute(SCHEMA_ID_SQL, obj.name).fetchone()[0] else None
            else:
                continue
            result[obj.name] = hashlib.sha256(text.encode()).hexdigest() if text is not None else None
        if inspector is not None:
            sa_connection.close()
            sa_engine.dispose()
        return result

    def unknown_objects(self, known: set[str], schemas: set[str]) -> list[tuple[str, str]]:
        known_lower = {k.lower() for k in known}
        wanted = {s.lower() for s in schemas}
        rows = self.conn.execute(UNKNOWN_OBJECTS_SQL).fetchall()
        return [(kind, name) for kind, name in rows
                if name.split(".", 1)[0].lower() in wanted and name.lower() not in known_lower]

    def run_check(self, rendered: RenderedObject) -> list[CheckResult]:
        import pyodbc

        rows: list = []
        self.conn.autocommit = False
        try:
            for batch in rendered.batches:
                cursor = self.conn.execute(batch)
                while True:
                    if cursor.description and len(cursor.description) == 3:
                        rows = cursor.fetchall()
                    if not cursor.nextset():
                        break
        except pyodbc.Error as exc:
            return [CheckResult(rendered.obj.name, False, _odbc_message(exc))]
        finally:
            self.conn.rollback()
            self.conn.autocommit = True
        if not rows:
            return [CheckResult(rendered.obj.name, False, "the check returned no rows")]
        return [CheckResult(str(r[0]), bool(r[1]), str(r[2])) for r in rows]

    def missing_objects(self, objects: list[DbObject]) -> list[DbObject]:
        missing = []
        for obj in objects:
            query = EXISTS_SQL.get(obj.kind)
            if query is None:
                continue
            if not self.conn.execute(query, obj.name).fetchone():
                missing.append(obj)
        return missing
