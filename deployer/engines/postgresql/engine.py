"""PostgreSQL engine seam (psycopg 3): a connected target (see deployer.engines.base.Engine).

Each object is applied in its own transaction together with its history row: PostgreSQL DDL is
transactional, so a failing object leaves nothing behind. Checks run in a transaction that is
always rolled back (sqitch's verify). The history lives in the target, in schema `deploy`, and
is created by the deployer itself on the first real publish (never by --dry-run).
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import uuid
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import psycopg
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from deployer.engines.base import ApplyError, CheckResult, DeployedObject, Deployment, TargetError
from deployer.engines.postgresql.data import PostgresData
from deployer.engines.postgresql.dialect import PostgresDialect
from deployer.engines.schema import reflection_connection, table_fingerprints
from deployer.source.catalog import ROLE_PREFIX, role_name
from deployer.source.render import RenderedObject

HISTORY_DDL = """
CREATE SCHEMA IF NOT EXISTS deploy;
CREATE TABLE IF NOT EXISTS deploy.Deployments (
    DeploymentId   bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    PackageVersion text        NOT NULL,
    StartedAt      timestamptz NOT NULL DEFAULT clock_timestamp(),
    FinishedAt     timestamptz NULL,
    Status         text        NOT NULL DEFAULT 'running'
        CONSTRAINT CK_Deployments_Status CHECK (Status IN ('running', 'succeeded', 'failed', 'no changes')),
    DeployedBy     text        NOT NULL DEFAULT current_user,
    Summary        text        NULL
);
CREATE TABLE IF NOT EXISTS deploy.DeploymentHistory (
    HistoryId      bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    DeploymentId   bigint      NOT NULL REFERENCES deploy.Deployments (DeploymentId),
    ObjectName     text        NOT NULL,
    ObjectKind     text        NOT NULL,
    Stage          smallint    NOT NULL,
    Action         text        NOT NULL,
    TextHash       char(64)    NOT NULL,
    LiveHash       char(64)    NULL,
    PackageVersion text        NOT NULL,
    DeployedAt     timestamptz NOT NULL DEFAULT clock_timestamp()
);
CREATE TABLE IF NOT EXISTS deploy.DeployedObjects (
    ObjectName     text        PRIMARY KEY,
    ObjectKind     text        NOT NULL,
    Stage          smallint    NOT NULL,
    TextHash       char(64)    NOT NULL,
    LiveHash       char(64)    NULL,
    PackageVersion text        NOT NULL,
    DeployedAt     timestamptz NOT NULL,
    DeploymentId   bigint      NOT NULL REFERENCES deploy.Deployments (DeploymentId)
);
"""

# Columns added to the history after its first release: a target deployed by an older deployer
# gets them on its next publish (reads work without them)
HISTORY_UPGRADES = [
    ("deploymenthistory", "livehash", "ALTER TABLE deploy.DeploymentHistory ADD COLUMN LiveHash char(64) NULL"),
    ("deployedobjects", "livehash", "ALTER TABLE deploy.DeployedObjects ADD COLUMN LiveHash char(64) NULL"),
]
_HAS_COLUMN = ("SELECT 1 FROM information_schema.columns WHERE table_schema = 'deploy' "
               "AND table_name = %s AND column_name = %s")

DEPLOY_LOCK = "hartonomous-deployer"

# kind -> query returning a row when the object exists; parameters: schema, name (lower case,
# as PostgreSQL folds unquoted identifiers)
_EXISTS = {
    "schema": "SELECT 1 FROM pg_namespace WHERE nspname = %(name)s",
    "extension": "SELECT 1 FROM pg_extension WHERE extname = %(name)s",
    "table": "SELECT 1 FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
             "WHERE n.nspname = %(schema)s AND c.relname = %(name)s AND c.relkind IN ('r', 'p')",
    "view": "SELECT 1 FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = %(schema)s AND c.relname = %(name)s AND c.relkind IN ('v', 'm')",
    "function": "SELECT 1 FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace "
                "WHERE n.nspname = %(schema)s AND p.proname = %(name)s AND p.prokind = 'f'",
    "procedure": "SELECT 1 FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace "
                 "WHERE n.nspname = %(schema)s AND p.proname = %(name)s AND p.prokind = 'p'",
    "library": "SELECT 1 FROM dbo.ExternalLibraries WHERE LibraryName = %(name)s",
}


# what a backup's checksums cover: the package's schemas and the deployment history
MANAGED_BACKUP_SCHEMAS = {"dbo", "graph", "provenance", "reasoning", "attention", "deploy"}

# The state of a role, of the row-level security and of the privileges, as text to hash: what
# drift compares. NULL when there is none (the object is missing). The privileges are those the
# database's four roles and PUBLIC hold in dbo (an object made by hand, granted to no one, is the
# unknown-objects report's, not a change of the grants).
_ROLE_STATE = """
    SELECT concat_ws(' ', r.rolname, r.rolsuper, r.rolinherit, r.rolcreaterole, r.rolcreatedb, r.rolcanlogin,
                     r.rolreplication, r.rolbypassrls)
    FROM pg_roles r WHERE r.rolname = %s
"""
_POLICY_STATE = """
    SELECT string_agg(concat_ws(' ', c.relname, c.relrowsecurity, c.relforcerowsecurity, p.polname, p.polcmd,
                                p.polpermissive, pg_get_expr(p.polqual, p.polrelid), pg_get_expr(p.polwithcheck, p.polrelid)),
                      E'\\n' ORDER BY c.relname, p.polname)
    FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
    LEFT JOIN pg_policy p ON p.polrelid = c.oid
    WHERE n.nspname = 'dbo' AND c.relkind = 'r' AND (c.relrowsecurity OR p.polname IS NOT NULL)
"""
_GRANT_STATE = """
    WITH grantees AS (
        SELECT 0::oid AS oid, 'PUBLIC' AS name
        UNION ALL
        SELECT r.oid, r.rolname FROM pg_roles r
        WHERE r.rolname IN (current_database() || '_admin', current_database() || '_app',
                            current_database() || '_reader', current_database() || '_system')
    ), acls AS (
        SELECT 'database' AS kind, d.datname AS object, a.grantee, a.privilege_type
        FROM pg_database d, aclexplode(coalesce(d.datacl, acldefault('d', d.datdba))) a
        WHERE d.datname = current_database()
        UNION ALL
        SELECT 'schema', n.nspname, a.grantee, a.privilege_type
        FROM pg_namespace n, aclexplode(coalesce(n.nspacl, acldefault('n', n.nspowner))) a
        WHERE n.nspname = 'dbo'
        UNION ALL
        SELECT 'relation', c.relname, a.grantee, a.privilege_type
        FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace,
             aclexplode(coalesce(c.relacl, acldefault((CASE WHEN c.relkind = 'S' THEN 's' ELSE 'r' END)::"char", c.relowner))) a
        WHERE n.nspname = 'dbo' AND c.relkind IN ('r', 'p', 'v', 'm', 'S')
        UNION ALL
        SELECT 'routine', p.oid::regprocedure::text, a.grantee, a.privilege_type
        FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace,
             aclexplode(coalesce(p.proacl, acldefault('f', p.proowner))) a
        WHERE n.nspname = 'dbo'
    )
    SELECT coalesce(string_agg(concat_ws(' ', acls.kind, acls.object, g.name, acls.privilege_type), E'\\n'
                               ORDER BY acls.kind, acls.object, g.name, acls.privilege_type), '')
    FROM acls JOIN grantees g ON g.oid = acls.grantee
"""


def redact(url: str) -> str:
    try:
        params = conninfo_to_dict(url)
    except psycopg.ProgrammingError:
        return "postgresql://<unparseable target>"
    params.pop("password", None)
    host = params.get("host", "")
    where = f"{host}:{params['port']}" if params.get("port") else host
    return f"postgresql://{params.get('user', '') + '@' if params.get('user') else ''}{where}/{params.get('dbname', '')}"


def _describe_error(exc: psycopg.Error, sql_text: str) -> str:
    diag = exc.diag
    message = diag.message_primary or str(exc).strip()
    parts = [f"{diag.sqlstate or 'error'}: {message}"]
    if diag.statement_position:
        line = sql_text[: int(diag.statement_position)].count("\n") + 1
        parts.append(f"at line {line} of the rendered object")
    if diag.message_detail:
        parts.append(diag.message_detail)
    if diag.context:
        parts.append(diag.context.strip().splitlines()[0])
    return "; ".join(parts)


class PostgresEngine:
    dialect = PostgresDialect()

    def __init__(self, url: str):
        self.url = url
        self.label = redact(url)
        self.database = conninfo_to_dict(url).get("dbname") or ""
        self.conn: psycopg.Connection | None = None
        self._statement = ""  # the statement apply is running: its error message quotes it

    # connection -----------------------------------------------------------------------------
    def connect(self, *, create_database: bool = True) -> None:
        try:
            self.conn = self._open(autocommit=True)
        except psycopg.OperationalError as exc:
            missing = exc.sqlstate == "3D000" or (exc.sqlstate is None and "does not exist" in str(exc))
            if missing and self.database and create_database:
                self._create_database()
                self.conn = self._open(autocommit=True)
            elif missing and not create_database:
                self.conn = None  # a dry run against a database that is not there yet: plan from empty
            else:
                raise TargetError(f"cannot connect to {self.label}: {str(exc).strip().splitlines()[-1]}") from None

    def _open(self, **options) -> psycopg.Connection:
        conn = psycopg.connect(self.url, application_name="hartonomous-deployer", **options)
        # the path objects are written and read under, whatever the database's own default (dbo
        # first, for DBAs): pg_get_viewdef, regprocedure and alembic's comparison qualify names by it
        conn.execute("SET search_path = public")  # fixed: a schema named after the role would change it
        if not conn.autocommit:
            conn.commit()
        return conn

    def _create_database(self) -> None:
        params = conninfo_to_dict(self.url)
        params["dbname"] = "postgres"
        try:
            with psycopg.connect(make_conninfo(**params), autocommit=True) as admin:
                admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(self.database)))
        except psycopg.Error as exc:
            raise TargetError(f"database {self.database!r} does not exist and cannot be created: {exc}") from None

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()
            self.conn = None

    def _require(self) -> psycopg.Connection:
        if self.conn is None:
            raise TargetError(f"not connected to {self.label}")
        return self.conn

    # history ----------------------------------------------------------------------------------
    def deployed_objects(self) -> dict[str, DeployedObject]:
        if self.conn is None:
            return {}
        exists = self.conn.execute("SELECT to_regclass('deploy.DeployedObjects') IS NOT NULL").fetchone()[0]
        if not exists:
            return {}
        live_hash = "d.LiveHash" if self.conn.execute(_HAS_COLUMN, ("deployedobjects", "livehash")).fetchone() \
            else "NULL::char(64)"
        rows = self.conn.execute(
            "SELECT d.ObjectName, d.ObjectKind, d.Stage, d.TextHash, d.PackageVersion, d.DeployedAt::text, "
            f"{live_hash}, coalesce((SELECT max(h.HistoryId) FROM deploy.DeploymentHistory h "
            "WHERE h.ObjectName = d.ObjectName AND h.Action = 'create'), 0) "
            "FROM deploy.DeployedObjects d"
        ).fetchall()
        return {r[0]: DeployedObject(*r) for r in rows}

    @property
    def database_exists(self) -> bool:
        return self.conn is not None

    def lock(self) -> None:
        """One publish at a time per database: a session lock, released when the connection closes.
        Taken before planning, so no publish applies a plan another one made stale."""
        if not self._require().execute("SELECT pg_try_advisory_lock(hashtext(%s))", (DEPLOY_LOCK,)).fetchone()[0]:
            raise TargetError(f"another publish to {self.label} is running (advisory lock '{DEPLOY_LOCK}' is held)")

    def begin_deployment(self, deployment: Deployment) -> None:
        conn = self._require()
        with conn.transaction():
            if conn.execute("SELECT to_regclass('deploy.DeployedObjects') IS NULL").fetchone()[0]:
                conn.execute(HISTORY_DDL)
            for table, column, statement in HISTORY_UPGRADES:
                if not conn.execute(_HAS_COLUMN, (table, column)).fetchone():
                    conn.execute(statement)
            row = conn.execute(
                "INSERT INTO deploy.Deployments (PackageVersion, Summary) VALUES (%s, %s) RETURNING DeploymentId",
                (deployment.package_version, deployment.summary),
            ).fetchone()
        deployment.id = int(row[0])

    def finish_deployment(self, deployment: Deployment, status: str) -> None:
        self._require().execute(
            "UPDATE deploy.Deployments SET FinishedAt = clock_timestamp(), Status = %s, Summary = %s "
            "WHERE DeploymentId = %s",
            (status, deployment.summary, deployment.id),
        )

    # apply --------------------------------------------------------------------------------------
    def apply(self, obj, batches: tuple[str, ...], action: str, text_hash: str, deployment: Deployment) -> None:
        """Execute one object's batches and record it, in one transaction; "drop" forgets the object."""
        conn = self._require()
        self._statement = ""
        try:
            routine = obj.kind in ("function", "procedure") and action != "drop"
            try:
                self._apply_in_transaction(obj, batches, action, text_hash, deployment, drop_first=False)
            except psycopg.errors.InvalidFunctionDefinition as first:
                if not routine:
                    raise
                # CREATE OR REPLACE cannot change a routine's OUT parameters or result columns
                # (42P13): the object's transaction is gone; again, dropping the routine first
                try:
                    self._apply_in_transaction(obj, batches, action, text_hash, deployment, drop_first=True)
                except psycopg.Error as exc:
                    raise ApplyError(obj, f"CREATE OR REPLACE cannot change its result ({str(first).strip()}); "
                                          f"dropping it to create it again failed: "
                                          f"{_describe_error(exc, self._statement)}") from None
        except psycopg.Error as exc:
            raise ApplyError(obj, _describe_error(exc, self._statement)) from None
        if action != "drop":
            # what the object looks like on the server now: drift is a later difference from this
            live = self.fingerprints([obj]).get(obj.name)
            conn.execute("UPDATE deploy.DeployedObjects SET LiveHash = %s WHERE ObjectName = %s", (live, obj.name))
            conn.execute("UPDATE deploy.DeploymentHistory SET LiveHash = %s WHERE HistoryId = "
                         "(SELECT max(HistoryId) FROM deploy.DeploymentHistory WHERE ObjectName = %s)", (live, obj.name))

    def _apply_in_transaction(self, obj, batches: tuple[str, ...], action: str, text_hash: str,
                              deployment: Deployment, *, drop_first: bool) -> None:
        conn = self.conn
        deployment_id, package_version = deployment.id, deployment.package_version
        with conn.transaction():
            if drop_first:
                self._drop_routines(obj)
            for sql_text in batches:
                self._statement = sql_text
                conn.execute(sql_text)
            if obj.kind in ("function", "procedure") and action != "drop":
                self._drop_stale_overloads(obj)
            conn.execute(
                "INSERT INTO deploy.DeploymentHistory "
                "(DeploymentId, ObjectName, ObjectKind, Stage, Action, TextHash, PackageVersion) "
                "VALUES (%s, %s, %s, %s, %s, %s, %s)",
                (deployment_id, obj.name, obj.kind, int(obj.stage), action, text_hash, package_version),
            )
            if action == "drop":
                conn.execute("DELETE FROM deploy.DeployedObjects WHERE ObjectName = %s", (obj.name,))
            else:
                conn.execute(
                    "INSERT INTO deploy.DeployedObjects "
                    "(ObjectName, ObjectKind, Stage, TextHash, PackageVersion, DeployedAt, DeploymentId) "
                    "VALUES (%s, %s, %s, %s, %s, clock_timestamp(), %s) "
                    "ON CONFLICT (ObjectName) DO UPDATE SET ObjectKind = EXCLUDED.ObjectKind, "
                    "Stage = EXCLUDED.Stage, TextHash = EXCLUDED.TextHash, "
                    "PackageVersion = EXCLUDED.PackageVersion, DeployedAt = EXCLUDED.DeployedAt, "
                    "DeploymentId = EXCLUDED.DeploymentId",
                    (obj.name, obj.kind, int(obj.stage), text_hash, package_version, deployment_id),
                )

    def _drop_routines(self, obj) -> None:
        """Every routine of the object's name (each overload), before it is created again."""
        schema, _, bare = obj.name.rpartition(".")
        for signature, prokind in self.conn.execute(
                "SELECT p.oid::regprocedure::text, p.prokind FROM pg_proc p "
                "JOIN pg_namespace n ON n.oid = p.pronamespace WHERE n.nspname = %s AND p.proname = %s",
                ((schema or "public").lower(), bare.lower())).fetchall():
            kind = sql.SQL("PROCEDURE" if prokind == "p" else "FUNCTION")
            drop = sql.SQL("DROP {} {}").format(kind, sql.SQL(signature))
            self._statement = drop.as_string(self.conn)
            self.conn.execute(drop)

    def _drop_stale_overloads(self, obj) -> None:
        """A changed signature creates a second function beside the old one: drop every overload
        of this name the transaction did not just create or replace."""
        schema, _, bare = obj.name.rpartition(".")
        rows = self.conn.execute(
            "SELECT p.oid::regprocedure::text, p.prokind, "
            "p.xmin::text::bigint = txid_current() %% 4294967296 AS fresh "
            "FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace "
            "WHERE n.nspname = %s AND p.proname = %s", ((schema or "public").lower(), bare.lower())).fetchall()
        if not any(fresh for _, _, fresh in rows):
            return  # the object's text did not create this name: leave the catalog alone
        for signature, prokind, fresh in rows:
            if not fresh:
                kind = sql.SQL("PROCEDURE" if prokind == "p" else "FUNCTION")
                self.conn.execute(sql.SQL("DROP {} {}").format(kind, sql.SQL(signature)))

    # comparing -------------------------------------------------------------------------------
    def reflection(self):
        """A SQLAlchemy connection of its own, for reflection and alembic's comparison."""
        return reflection_connection("postgresql+psycopg://", self._open)

    def count(self, query: str) -> int:
        return int(self._require().execute(query).fetchone()[0])

    def row_count(self, table: str) -> int:
        statement = sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(*self.dialect.catalog_key(table)))
        return int(self._require().execute(statement).fetchone()[0])

    def render_settings(self, requested: dict) -> tuple[dict, list[str]]:
        return {}, []  # nothing of the rendering depends on the server

    def history_table(self, table: str) -> str | None:
        return None  # weight history is a table of the package (dbo.ModelTensorChunksHistory), dropped on its own

    @property
    def data(self) -> PostgresData:
        return PostgresData(self._require(), cron_conninfo=self._cron_conninfo)

    def _cron_conninfo(self) -> str:
        """The target's connection, to the database pg_cron runs in (cron.database_name)."""
        (cron_database,) = self._require().execute("SELECT current_setting('cron.database_name', true)").fetchone()
        if not cron_database:
            raise TargetError(f"{self.label}: pg_cron is not set up (cron.database_name is unset)")
        return make_conninfo(**dict(conninfo_to_dict(self.url), dbname=cron_database))

    @contextmanager
    def shadow(self, objects: list[RenderedObject]) -> Iterator["PostgresEngine"]:
        """A throw-away database on the same server holding `objects`, for schema comparison."""
        params = conninfo_to_dict(self.url)
        name = f"{self.database[:40]}_shadow_{uuid.uuid4().hex[:8]}"
        admin_params = dict(params, dbname="postgres")
        try:
            with psycopg.connect(make_conninfo(**admin_params), autocommit=True) as admin:
                admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        except psycopg.Error as exc:
            raise TargetError(f"cannot create the shadow database the table comparison needs on {self.label}: "
                              f"{exc.diag.message_primary or exc}") from None
        shadow = PostgresEngine(make_conninfo(**dict(params, dbname=name)))
        try:
            shadow.connect(create_database=False)
            for rendered in objects:
                try:
                    for batch in rendered.batches:
                        shadow.conn.execute(batch)
                except psycopg.Error as exc:
                    raise TargetError(f"{rendered.obj.name} ({rendered.obj.source_label}) fails in the shadow "
                                      f"database: {_describe_error(exc, rendered.sql)}") from None
            yield shadow
        finally:
            shadow.close()
            with psycopg.connect(make_conninfo(**admin_params), autocommit=True) as admin:
                admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))

    def fingerprints(self, objects: list) -> dict[str, str | None]:
        """A hash of each object as it is on the server now (None: it is not there)."""
        conn = self._require()
        result: dict[str, str | None] = {}
        tables = [o for o in objects if o.kind == "table"]
        if tables:
            with self.reflection() as connection:
                result.update(table_fingerprints(connection, self.dialect, tables))
        for obj in objects:
            schema, bare = self.dialect.catalog_key(obj.name)
            text = None
            if obj.kind == "table":
                continue
            if obj.kind in ("function", "procedure"):
                text = conn.execute(
                    "SELECT string_agg(pg_get_functiondef(p.oid), E'\\n' ORDER BY p.oid::regprocedure::text) "
                    "FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace "
                    "WHERE n.nspname = %s AND p.proname = %s", (schema, bare)).fetchone()[0]
            elif obj.kind == "view":
                text = conn.execute("SELECT pg_get_viewdef(to_regclass(%s))", (f"{schema}.{bare}",)).fetchone()[0]
            elif obj.kind == "library":
                try:
                    row = conn.execute("SELECT ContentHash FROM dbo.ExternalLibraries WHERE LibraryName = %s",
                                       (obj.name,)).fetchone()
                except psycopg.errors.UndefinedTable:
                    row = None
                text = row[0] if row else None
            elif obj.kind == "extension":
                row = conn.execute("SELECT extversion FROM pg_extension WHERE extname = %s", (obj.name.lower(),)).fetchone()
                text = row[0] if row else None
            elif obj.kind == "schema":
                row = conn.execute("SELECT 1 FROM pg_namespace WHERE nspname = %s", (obj.name.lower(),)).fetchone()
                text = "schema" if row else None
            elif obj.kind == "role":
                row = conn.execute(_ROLE_STATE, (role_name(obj.name, self.database),)).fetchone()
                text = row[0] if row else None
            elif obj.kind == "policy":
                text = conn.execute(_POLICY_STATE).fetchone()[0]
            elif obj.kind == "grant":
                text = conn.execute(_GRANT_STATE).fetchone()[0]
            else:
                continue  # settings and checks have no state of their own to compare
            result[obj.name] = hashlib.sha256(text.encode()).hexdigest() if text is not None else None
        return result

    def unknown_objects(self, known: set[str], schemas: set[str]) -> list[tuple[str, str]]:
        """Tables, views, functions and procedures in `schemas` that are not in `known`."""
        known_lower = {k.lower() for k in known}
        rows = self._require().execute(
            """
            SELECT CASE c.relkind WHEN 'v' THEN 'view' WHEN 'm' THEN 'view' ELSE 'table' END, n.nspname || '.' || c.relname
            FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
            WHERE n.nspname = ANY(%(schemas)s) AND c.relkind IN ('r', 'p', 'v', 'm')
              AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.objid = c.oid AND d.deptype = 'e')
            UNION ALL
            SELECT CASE p.prokind WHEN 'p' THEN 'procedure' ELSE 'function' END, n.nspname || '.' || p.proname
            FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
            WHERE n.nspname = ANY(%(schemas)s)
              AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.objid = p.oid AND d.deptype = 'e')
            ORDER BY 2
            """, {"schemas": sorted(s.lower() for s in schemas)}).fetchall()
        return [(kind, name) for kind, name in dict.fromkeys(rows) if name.lower() not in known_lower]

    # security ---------------------------------------------------------------------------------
    def grant_role(self, login: str, role: str, tenants: list[int], *, revoke: bool = False) -> None:
        conn = self._require()
        database_role = role_name(ROLE_PREFIX + role, self.database)
        found = conn.execute("SELECT rolcanlogin FROM pg_roles WHERE rolname = %s", (login,)).fetchone()
        if found is None or not found[0]:
            raise TargetError(f"{self.label}: there is no login role {login!r} on the server; create it first "
                              f"(CREATE ROLE ... LOGIN), then grant it")
        if conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (database_role,)).fetchone() is None:
            raise TargetError(f"{self.label}: the role {database_role} does not exist; publish first")
        with conn.transaction():
            if revoke:
                conn.execute("DELETE FROM dbo.TenantPrincipals WHERE PrincipalName = %s "
                             "AND (cardinality(%s::integer[]) = 0 OR TenantId = ANY(%s::integer[]))",
                             (login, tenants, tenants))
                if not tenants:
                    conn.execute(sql.SQL("REVOKE {} FROM {}").format(sql.Identifier(database_role), sql.Identifier(login)))
                return
            conn.execute(sql.SQL("GRANT {} TO {}").format(sql.Identifier(database_role), sql.Identifier(login)))
            for tenant in tenants:
                conn.execute("INSERT INTO dbo.TenantPrincipals (PrincipalName, TenantId) VALUES (%s, %s) "
                             "ON CONFLICT DO NOTHING", (login, tenant))

    # backup and restore -------------------------------------------------------------------------
    def _client_program(self, name: str) -> str:
        """pg_dump / pg_restore of the server's major version or newer (an older one refuses)."""
        major = self._require().info.server_version // 10000
        candidates = sorted(Path("/usr/lib/postgresql").glob(f"*/bin/{name}"), key=lambda p: int(p.parts[-3]))
        for candidate in candidates:
            if int(candidate.parts[-3]) >= major:
                return str(candidate)
        found = shutil.which(name)
        if found is None:
            raise TargetError(f"{name} is not installed (apt-get install postgresql-client-{major})")
        return found

    def _client_environment(self) -> tuple[str, dict]:
        """A connection string for pg_dump / pg_restore without the password, which goes in the
        environment: a command line is visible to every user of the machine."""
        params = conninfo_to_dict(self.url)
        password = params.pop("password", None)
        env = dict(os.environ)
        if password:
            env["PGPASSWORD"] = password
        return make_conninfo(**params), env

    def table_checksums(self) -> dict[str, tuple[int, str]]:
        """Every table of the package's schemas and the history: its row count and a checksum of its
        rows (the md5 of the sorted md5s of each row's text), independent of row order."""
        conn = self._require()
        tables = conn.execute(
            "SELECT n.nspname, c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE c.relkind IN ('r', 'p') AND n.nspname = ANY(%s) ORDER BY 1, 2",
            (sorted(MANAGED_BACKUP_SCHEMAS),)).fetchall()
        result = {}
        for schema, table in tables:
            count, checksum = conn.execute(sql.SQL(
                "SELECT count(*), coalesce(md5(string_agg(h, '' ORDER BY h)), '') "
                "FROM (SELECT md5(t::text) AS h FROM {} AS t) AS rows").format(sql.Identifier(schema, table))).fetchone()
            result[f"{schema}.{table}"] = (count, checksum)
        return result

    def backup(self, out: Path) -> dict[str, tuple[int, str]]:
        """A consistent dump (pg_dump's custom format) of the database, and the checksums of its tables
        taken in the same snapshot: a transaction exports its snapshot, pg_dump reads in it."""
        conn = self._require()
        pg_dump = self._client_program("pg_dump")
        conninfo, env = self._client_environment()
        conn.autocommit = False
        try:
            conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            snapshot = conn.execute("SELECT pg_export_snapshot()").fetchone()[0]
            checksums = self.table_checksums()
            # the session-tenant choices belong to live backends, not to the data
            done = subprocess.run([pg_dump, "--format=custom", "--no-password", f"--snapshot={snapshot}",
                                   "--exclude-table-data=dbo.sessiontenants", f"--file={out}", f"--dbname={conninfo}"],
                                  env=env, capture_output=True, text=True)
            if done.returncode != 0:
                raise TargetError(f"pg_dump of {self.label} failed: {done.stderr.strip()}")
        finally:
            conn.rollback()
            conn.autocommit = True
        return checksums

    def restore(self, source: Path) -> None:
        """pg_restore the dump into this (new, empty) database in one transaction. Ownership and
        privileges are not restored: the roles of the dumped database are not this one's (they carry
        its name), so the publish that follows creates this database's roles and grants them."""
        conn = self._require()
        if conn.execute("SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                        "WHERE n.nspname NOT IN ('pg_catalog', 'information_schema', 'pg_toast') "
                        "AND c.relkind IN ('r', 'p', 'v', 'm')").fetchone()[0]:
            raise TargetError(f"{self.label} is not empty: restore into a new database")
        pg_restore = self._client_program("pg_restore")
        conninfo, env = self._client_environment()
        done = subprocess.run([pg_restore, "--no-owner", "--no-privileges", "--single-transaction", "--exit-on-error",
                               "--no-password", f"--dbname={conninfo}", str(source)],
                              env=env, capture_output=True, text=True)
        if done.returncode != 0:
            raise TargetError(f"pg_restore into {self.label} failed (nothing was restored): {done.stderr.strip()}")

    # verification -----------------------------------------------------------------------------
    def run_check(self, rendered: RenderedObject) -> list[CheckResult]:
        conn = self._require()
        try:
            with conn.transaction(force_rollback=True):
                cursor = conn.execute(rendered.sql)  # one batch: PostgreSQL runs the whole text
                rows = cursor.fetchall() if cursor.description else []
        except psycopg.Error as exc:
            return [CheckResult(rendered.obj.name, False, _describe_error(exc, rendered.sql))]
        if not rows:
            return [CheckResult(rendered.obj.name, False, "the check returned no rows")]
        return [CheckResult(str(name), bool(passed), str(detail)) for name, passed, detail in rows]

    def missing_objects(self, objects: list) -> list:
        conn = self._require()
        missing = []
        for obj in objects:
            query = _EXISTS.get(obj.kind)
            if query is None:
                continue
            schema, _, name = obj.name.rpartition(".")
            if obj.kind in ("schema", "extension", "library"):
                params = {"schema": "", "name": obj.name.lower() if obj.kind != "library" else obj.name}
            else:
                params = {"schema": (schema or "public").lower(), "name": name.lower()}
            try:
                found = conn.execute(query, params).fetchone()
            except psycopg.errors.UndefinedTable:
                found = None
            if not found:
                missing.append(obj)
        return missing
