"""SQL Server engine seam (pyodbc: msodbcsql18 at users, FreeTDS where that is what exists): a
connected target (see deployer.engines.base.Engine). Its statements are in .statements.

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

from deployer.engines.base import ApplyError, CheckResult, DeployedObject, Deployment, TargetError
from deployer.engines.mssql.data import MssqlData, odbc_transaction
from deployer.engines.mssql.dialect import (
    DEFAULT_DATABASE, MssqlDialect, check_database_name, filestream_container, in_data_folder, inmemory_container,
)
from deployer.engines.mssql.statements import (
    BEGIN_DEPLOYMENT_SQL, DATABASE_ID_SQL, DEFINITION_SQL, DEPLOYED_OBJECTS_SQL, EXISTS_SQL, FINISH_DEPLOYMENT_SQL,
    FORGET_SQL, HISTORY_DDL, HISTORY_TABLE_SQL, HISTORY_EXISTS_SQL, HISTORY_UPGRADE_SQL, LIBRARY_FINGERPRINT_SQL, LIVE_HASH_SQL, LOCK_SQL,
    RECORD_SQL, SCHEMA_ID_SQL, SERVER_SQL, UNKNOWN_OBJECTS_SQL, create_shadow_sql, drop_shadow_sql,
    CHECKSUM_TABLES_SQL, CREATE_LOGIN_USER_SQL, GRANT_STATE_SQL, LOGIN_TYPE_SQL, LOGIN_USER_SQL, MAP_TENANT_SQL, POLICY_STATE_SQL,
    ROLE_ADD_MEMBER_SQL, ROLE_DROP_MEMBER_SQL, ROLE_EXISTS_SQL, ROLE_STATE_SQL, UNMAP_ALL_SQL, UNMAP_TENANT_SQL,
)
from deployer.source.catalog import ROLE_KINDS, ROLE_PREFIX, role_name
from deployer.engines.schema import reflection_connection, table_fingerprints
from deployer.source.render import RenderedObject, tsql_identifier

PASSWORD_ENV = "HARTONOMOUS_MSSQL_PASSWORD"
AUTOCOMMIT_KINDS = {"database", "setting"}

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
    dialect = MssqlDialect()

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
        # what render_settings settled, for the shadow: does the rendering store payloads in
        # FILESTREAM (its tables are then created ON a FILESTREAM filegroup), and where the
        # instance's default data folder is, with its path separator
        self._filestream_rendering = False
        self._data_path: str | None = None
        self._path_separator: str | None = None

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

    def begin_deployment(self, deployment: Deployment) -> None:
        """The row is written once the database exists (stage 1 may create it): see _deployment_row."""
        if self._in_database:
            self._deployment_row(deployment)

    def _deployment_row(self, deployment: Deployment) -> int:
        if deployment.id is None:
            self._ensure_history()
            deployment.id = int(self.conn.execute(BEGIN_DEPLOYMENT_SQL, deployment.package_version,
                                                  deployment.summary).fetchone()[0])
        return deployment.id

    def finish_deployment(self, deployment: Deployment, status: str) -> None:
        if self.conn is None or not self._in_database:
            return
        self.conn.execute(FINISH_DEPLOYMENT_SQL, status, deployment.summary, self._deployment_row(deployment))

    def apply(self, obj, batches: tuple[str, ...], action: str, text_hash: str, deployment: Deployment) -> None:
        import pyodbc

        transactional = obj.kind not in AUTOCOMMIT_KINDS and not obj.autocommit
        if obj.context != "server" and not self._in_database:
            self._use_database()
            if not self._in_database:
                raise ApplyError(obj, f"database {self.database} does not exist (its creation failed or was skipped)")
        if transactional:
            # the deployment's row first, in autocommit: a rollback of this object must not undo it
            self._deployment_row(deployment)
        try:
            if obj.context == "server":
                self.conn.execute("USE [master]")
            self.conn.autocommit = not transactional
            for number, batch in enumerate(batches, start=1):
                try:
                    cursor = self.conn.execute(batch)
                    while cursor.nextset():
                        pass
                except pyodbc.Error as exc:
                    raise ApplyError(obj, f"batch {number}: {_odbc_message(exc)}") from None
            if obj.context == "server":
                self._use_database()
            deployment_id, package_version = self._deployment_row(deployment), deployment.package_version
            if action == "drop":
                self.conn.execute(FORGET_SQL, deployment_id, obj.name, obj.kind, int(obj.stage), action, text_hash,
                                  package_version, obj.name)
            else:
                self.conn.execute(
                    RECORD_SQL,
                    deployment_id, obj.name, obj.kind, int(obj.stage), action, text_hash, package_version,
                    obj.name, obj.kind, int(obj.stage), text_hash, package_version, deployment_id,
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

    # comparing -------------------------------------------------------------------------------
    def _odbc_for(self, database: str) -> str:
        return self._odbc.rsplit(";DATABASE=master", 1)[0] + f";DATABASE={database}"

    def reflection(self):
        """A SQLAlchemy connection of its own to the target database, for reflection and alembic."""
        import pyodbc

        odbc = self._odbc_for(self.database)
        return reflection_connection("mssql+pyodbc://", lambda: pyodbc.connect(odbc))

    def count(self, query: str) -> int:
        return int(self.conn.execute(query).fetchone()[0])

    def row_count(self, table: str) -> int:
        schema, bare = self.dialect.catalog_key(table)
        return int(self.conn.execute(f"SELECT COUNT_BIG(*) FROM {tsql_identifier(schema)}.{tsql_identifier(bare)};")
                   .fetchone()[0])

    def render_settings(self, requested: dict) -> tuple[dict, list[str]]:
        separator, data_path, filestream_level = self.conn.execute(SERVER_SQL).fetchone()
        settings, notices = self.dialect.settings_for_server(separator, data_path, filestream_level, self.database,
                                                             requested)
        # the shadow database follows the rendering: FILESTREAM unless --skip-filestream or the
        # server said otherwise (Linux); settings_for_server has refused an instance without it
        self._filestream_rendering = not {**requested, **settings}.get("skip_filestream")
        self._data_path, self._path_separator = data_path, separator
        return settings, notices

    def history_table(self, table: str) -> str | None:
        row = self.conn.execute(HISTORY_TABLE_SQL, table).fetchone()
        return row[0] if row and row[0] else None

    @property
    def data(self) -> MssqlData:
        if self.conn is None:
            raise TargetError(f"not connected to {self.label}")
        return MssqlData(self.conn)

    def _shadow_files(self, name: str) -> tuple[str, str, str | None]:
        """The shadow's primary data file, In-Memory OLTP container and, when the rendering
        (render_settings) uses FILESTREAM, FILESTREAM container (else None): in the instance's default
        data folder, containers of its own per shadow, derived as the published database's are
        (dialect.inmemory_container, dialect.filestream_container)."""
        if not self._data_path:
            raise TargetError(f"{self.label} reports no default data folder: the shadow database the table "
                              "comparison needs has nowhere to put its In-Memory OLTP and FILESTREAM containers")
        data, separator = self._data_path, self._path_separator
        return (in_data_folder(data, f"{name}.mdf", separator), inmemory_container(data, name, separator),
                filestream_container(data, name) if self._filestream_rendering else None)

    @contextmanager
    def shadow(self, objects: list[RenderedObject]) -> Iterator["MssqlEngine"]:
        """A throw-away database on the same server holding `objects`, for schema comparison; with an
        In-Memory OLTP filegroup, and a FILESTREAM filegroup when the rendering has FILESTREAM tables.
        Dropped, with its files, however the block ends."""
        import pyodbc

        name = f"{self.database[:80]}_shadow_{uuid.uuid4().hex[:8]}"
        create = create_shadow_sql(name, *self._shadow_files(name))
        try:
            self.conn.execute(create)
        except pyodbc.Error as exc:  # nothing to drop: a CREATE DATABASE that fails leaves no database
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
            try:
                self.conn.execute("USE [master]")
                self.conn.execute(drop_shadow_sql(name))
            except pyodbc.Error as exc:
                raise TargetError(f"cannot drop the shadow database {name} on {self.label} (drop it by hand): "
                                  f"{_odbc_message(exc)}") from None
            finally:
                self._use_database()

    def fingerprints(self, objects: list) -> dict[str, str | None]:
        if not self._in_database:
            return {obj.name: None for obj in objects}
        result: dict[str, str | None] = {}
        tables = [o for o in objects if o.kind == "table"]
        if tables:
            with self.reflection() as connection:
                result.update(table_fingerprints(connection, self.dialect, tables))
        for obj in objects:
            text = None
            if obj.kind == "table":
                continue
            if obj.kind in ("procedure", "function", "view"):
                text = self.conn.execute(DEFINITION_SQL, obj.name).fetchone()[0]
            elif obj.kind == "library":
                row = self.conn.execute(LIBRARY_FINGERPRINT_SQL, obj.name).fetchone()
                text = row[0] if row else None
            elif obj.kind == "schema":
                text = "schema" if self.conn.execute(SCHEMA_ID_SQL, obj.name).fetchone()[0] else None
            elif obj.kind == "role":
                row = self.conn.execute(ROLE_STATE_SQL, role_name(obj.name, self.database)).fetchone()
                text = row[0] if row else None
            elif obj.kind == "policy":
                row = self.conn.execute(POLICY_STATE_SQL, obj.name).fetchone()
                text = row[0] if row else None
            elif obj.kind == "grant":
                roles = [role_name(ROLE_PREFIX + k, self.database) for k in ROLE_KINDS]
                text = self.conn.execute(GRANT_STATE_SQL, *roles).fetchone()[0] or ""
            else:
                continue
            result[obj.name] = hashlib.sha256(text.encode()).hexdigest() if text is not None else None
        return result

    def grant_role(self, login: str, role: str, tenants: list[int], *, revoke: bool = False) -> None:
        database_role = role_name(ROLE_PREFIX + role, self.database)
        found = self.conn.execute(LOGIN_TYPE_SQL, login).fetchone()
        if not found:
            raise TargetError(f"{self.label}: there is no login {login!r} on the server; create it first "
                              f"(CREATE LOGIN ...), then grant it")
        if found[0] in ("G", "X") and tenants:
            # USER_NAME() is the member's own user, never the group's: a group's tenant would match no one
            raise TargetError(f"{self.label}: {login!r} is a group login; a tenant is mapped to a member's own "
                              f"login (grant each member), because a session's user is the member, not the group")
        if self.conn.execute(ROLE_EXISTS_SQL, database_role).fetchone()[0] is None:
            raise TargetError(f"{self.label}: the role {database_role} does not exist; publish first")
        with odbc_transaction(self.conn):
            row = self.conn.execute(LOGIN_USER_SQL, login).fetchone()
            if row is None and revoke:
                return
            if row is None:
                self.conn.execute(CREATE_LOGIN_USER_SQL, login, login)
            user = login if row is None else row[0]
            if revoke:
                for tenant in tenants:
                    self.conn.execute(UNMAP_TENANT_SQL, user, tenant)
                if not tenants:
                    self.conn.execute(UNMAP_ALL_SQL, user)
                    self.conn.execute(ROLE_DROP_MEMBER_SQL, database_role, user)
            else:
                self.conn.execute(ROLE_ADD_MEMBER_SQL, database_role, user)
                for tenant in tenants:
                    self.conn.execute(MAP_TENANT_SQL, user, tenant, user, tenant)

    # backups are the server's own: BACKUP DATABASE writes on the server's disks, with what a restore
    # needs afterwards in the rendered scripts (README, "Backups")
    def backup(self, out):
        raise TargetError(f"{self.label}: SQL Server backs up with BACKUP DATABASE on the server; run the "
                          f"backup script that `python -m deployer render --engine mssql` writes")

    def restore(self, source):
        raise TargetError(f"{self.label}: SQL Server restores with RESTORE DATABASE on the server; run the "
                          f"restore script that `python -m deployer render --engine mssql` writes")

    def table_checksums(self) -> dict[str, tuple[int, str]]:
        """Every table of the package's schemas and the history: its row count and CHECKSUM_AGG of
        BINARY_CHECKSUM(*) over its rows, independent of row order. Weaker than PostgreSQL's md5s (a
        32-bit sum, blind to columns of types it cannot compare, such as geometry, and to NVARCHAR(MAX)
        text past its first 255 characters): a check that nothing changed, not a proof (RESTORE
        VERIFYONLY ... WITH CHECKSUM checks a backup). In autocommit: each read its own statement."""
        self.conn.autocommit = True
        tables = self.conn.execute(CHECKSUM_TABLES_SQL).fetchall()
        result = {}
        for schema, table in tables:
            count, checksum = self.conn.execute(
                f"SELECT COUNT_BIG(*), CHECKSUM_AGG(BINARY_CHECKSUM(*)) "
                f"FROM {tsql_identifier(schema)}.{tsql_identifier(table)};").fetchone()
            result[f"{schema}.{table}"] = (int(count), "" if checksum is None else str(checksum))
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

    def missing_objects(self, objects: list) -> list:
        missing = []
        for obj in objects:
            query = EXISTS_SQL.get(obj.kind)
            if query is None:
                continue
            if not self.conn.execute(query, obj.name).fetchone():
                missing.append(obj)
        return missing
