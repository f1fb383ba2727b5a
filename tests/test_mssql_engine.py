"""The SQL Server seam without a server: targets, credentials, and what is never printed."""

from __future__ import annotations

import pytest

from deployer.engines import engine_name_for, open_engine
from deployer.engines.base import TargetError
from deployer.engines.mssql.engine import MssqlEngine, parse_connection_string, url_to_odbc
from deployer.engines.postgresql.engine import redact


@pytest.mark.parametrize(
    ("target", "engine"),
    [
        ("postgresql:///db?host=/tmp", "postgresql"),
        ("postgres://u@h/db", "postgresql"),
        ("mssql+pyodbc://sa@host:1433/Hart?driver=ODBC+Driver+18+for+SQL+Server", "mssql"),
        ("DRIVER={ODBC Driver 18 for SQL Server};SERVER=h;UID=sa;PWD=x", "mssql"),
        ("mssql", "mssql"),
    ],
)
def test_engine_is_told_from_the_target(target, engine):
    assert engine_name_for(target) == engine


def test_unknown_target_is_refused():
    with pytest.raises(TargetError, match="cannot tell the engine"):
        engine_name_for("mysql://x")


def test_url_password_comes_from_the_environment_and_is_never_in_the_label(monkeypatch):
    monkeypatch.setenv("HARTONOMOUS_MSSQL_PASSWORD", "s3cr}et")
    engine = MssqlEngine("mssql+pyodbc://sa@db.example:1433/Hart?driver=ODBC+Driver+18+for+SQL+Server&TrustServerCertificate=yes")
    assert engine.database == "Hart"
    assert engine.label == "mssql://db.example,1433/Hart"
    pairs = dict(parse_connection_string(engine._odbc))
    assert pairs["PWD"] == "{s3cr}}et}" and pairs["DATABASE"] == "master" and pairs["TrustServerCertificate"] == "yes"
    assert "s3cr" not in engine.label


def test_url_with_user_but_no_password_is_refused(monkeypatch):
    monkeypatch.delenv("HARTONOMOUS_MSSQL_PASSWORD", raising=False)
    with pytest.raises(TargetError, match="HARTONOMOUS_MSSQL_PASSWORD"):
        url_to_odbc("mssql+pyodbc://sa@host/db")


def test_dsn_target_reads_the_environment(monkeypatch):
    monkeypatch.setenv("HARTONOMOUS_MSSQL_DSN", "DRIVER={FreeTDS};SERVER=h,1433;DATABASE=Hx;UID=u;PWD=topsecret")
    engine = open_engine("mssql")
    assert engine.database == "Hx" and "topsecret" not in engine.label
    monkeypatch.delenv("HARTONOMOUS_MSSQL_DSN")
    with pytest.raises(TargetError, match="HARTONOMOUS_MSSQL_DSN, which is not set"):
        open_engine("mssql")


def test_hostile_database_name_in_a_connection_string_is_refused():
    from deployer.source.render import RenderError

    with pytest.raises(RenderError):
        MssqlEngine("DRIVER={FreeTDS};SERVER=h;DATABASE=x];DROP DATABASE y;--")


def test_postgres_label_drops_the_password():
    assert redact("postgresql://app:hunter2@db:5432/hart") == "postgresql://app@db:5432/hart"


def test_unreachable_server_is_a_clear_error_without_the_password(run):
    result = run("publish", "--target", "postgresql://app:hunter2@127.0.0.1:1/hart")
    assert result.code == 2
    assert "cannot connect to postgresql://app@127.0.0.1:1/hart" in result.err
    assert "hunter2" not in result.err + result.out


def test_drift_does_not_report_a_temporal_history_table_as_unknown():
    """System versioning creates dbo.ModelTensorChunksHistory; it belongs to its table, so the
    unknown-objects query leaves out history tables (sys.tables.temporal_type = 1)."""
    import sqlglot
    from sqlglot import exp

    from deployer.engines.mssql.statements import UNKNOWN_OBJECTS_SQL

    tree = sqlglot.parse_one(UNKNOWN_OBJECTS_SQL, read="tsql")
    tables_query = next(s for s in tree.find_all(exp.Select) if any(
        t.name.lower() == "objects" for t in s.find_all(exp.Table)))
    exclusions = [c for c in tables_query.args["where"].find_all(exp.NEQ)
                  if "temporal_type" in c.left.sql().lower() and c.right.sql(comments=False) == "1"]
    assert exclusions, "history tables are not excluded"
    joined = {t.name.lower() for t in tables_query.find_all(exp.Table)}
    assert "tables" in joined


def test_drop_statements_mean_the_objects_the_package_created():
    """DROP EXTERNAL LIBRARY without AUTHORIZATION names the caller's own library; a system-versioned
    table cannot be dropped with versioning on, and its history table must go with it."""
    from deployer.engines import dialect_for
    from tools.tsql_gate.parse import parse_problems

    dialect = dialect_for("mssql")
    assert dialect.drop_statement("hartonomous_ext", "library").strip() == \
        "DROP EXTERNAL LIBRARY [hartonomous_ext] AUTHORIZATION dbo;"
    table = dialect.drop_statement("dbo.ModelTensorChunks", "table")
    assert table.index("SET (SYSTEM_VERSIONING = OFF)") < table.index("DROP TABLE [dbo].[ModelTensorChunks];")
    assert "history_table_id" in table and "QUOTENAME" in table and "EXEC sys.sp_executesql @DropHistory" in table
    assert "DROP TABLE IF EXISTS [dbo].[ModelTensorChunks];" in table
    assert parse_problems(table) == ()
    assert dialect.drop_statement("dbo.x]; DROP DATABASE master; --", "table").count("DROP DATABASE master") == 4
    assert "[x]]; DROP DATABASE master; --]" in dialect.drop_statement("dbo.x]; DROP DATABASE master; --", "table")


LINUX_INMEMORY = "/var/opt/mssql/data/Hartonomous_InMemory"
WINDOWS_INMEMORY = "C:\\SQL\\DATA\\Hartonomous_InMemory"


@pytest.mark.parametrize(("separator", "data_path", "level", "requested", "expected"), [
    ("/", "/var/opt/mssql/data/", 0, {}, {"skip_filestream": True, "inmemory_path": LINUX_INMEMORY}),
    ("\\", "C:\\SQL\\DATA\\", 2, {}, {"filestream_path": "C:\\SQL\\DATA\\Hartonomous_Filestream",
                                   "inmemory_path": WINDOWS_INMEMORY}),
    ("\\", "C:\\SQL\\DATA\\", 3, {"filestream_path": "D:\\FS\\H"}, {"inmemory_path": WINDOWS_INMEMORY}),
    ("/", "/var/opt/mssql/data/", 0, {"skip_filestream": True}, {"inmemory_path": LINUX_INMEMORY}),
    ("\\", "C:\\SQL\\DATA\\", 0, {"skip_filestream": True}, {"inmemory_path": WINDOWS_INMEMORY}),
    # the data folder with or without its trailing separator
    ("/", "/var/opt/mssql/data", 0, {}, {"skip_filestream": True, "inmemory_path": LINUX_INMEMORY}),
    ("\\", "C:\\SQL\\DATA", 2, {}, {"filestream_path": "C:\\SQL\\DATA\\Hartonomous_Filestream",
                                 "inmemory_path": WINDOWS_INMEMORY}),
    # --inmemory-path is kept as given
    ("/", "/var/opt/mssql/data/", 0, {"inmemory_path": "/mnt/fast/H_InMemory"}, {"skip_filestream": True}),
    ("\\", "C:\\SQL\\DATA\\", 2, {"filestream_path": "D:\\FS\\H", "inmemory_path": "E:\\IM\\H"}, {}),
])
def test_filestream_and_the_inmemory_container_follow_the_servers_platform(separator, data_path, level, requested,
                                                                            expected):
    """SQL Server on Linux has no FILESTREAM: publish stores payloads as VARBINARY(MAX) there and
    says so; on Windows the container goes to the instance's default data folder. In-Memory OLTP is
    on both platforms: its container goes to the default data folder, with the server's separator.
    The facts come from SERVERPROPERTY, which any login may read."""
    from deployer.engines import dialect_for

    settings, notices = dialect_for("mssql").settings_for_server(separator, data_path, level, "Hartonomous", requested)
    assert settings == expected
    assert len(notices) == len(expected)  # one line for each thing the server decided
    assert any(n.startswith("In-Memory OLTP: container ") for n in notices) == ("inmemory_path" in expected)


@pytest.mark.parametrize(("data_path", "level", "message"), [
    ("C:\\SQL\\DATA\\", 0, "FILESTREAM is off on this instance"),
    (None, 2, "give one with --filestream-path"),
])
def test_a_windows_server_that_cannot_hold_filestream_stops_before_planning(data_path, level, message):
    from deployer.engines import dialect_for

    with pytest.raises(TargetError, match=message):
        dialect_for("mssql").settings_for_server("\\", data_path, level, "Hartonomous", {})


@pytest.mark.parametrize(("separator", "level", "requested"), [
    ("/", 0, {}),
    ("\\", 2, {"filestream_path": "D:\\FS\\H"}),
    ("\\", 0, {"skip_filestream": True}),
])
def test_a_server_without_a_default_data_folder_needs_the_inmemory_path(separator, level, requested):
    """In-Memory OLTP is never skipped: with no default data folder to put its container in, publish
    stops before planning unless --inmemory-path names one."""
    from deployer.engines import dialect_for

    dialect = dialect_for("mssql")
    with pytest.raises(TargetError, match="no default data folder for the In-Memory OLTP container.*--inmemory-path"):
        dialect.settings_for_server(separator, None, level, "Hartonomous", requested)
    settings, _ = dialect.settings_for_server(separator, None, level, "Hartonomous",
                                              {**requested, "inmemory_path": "/mnt/fast/H_InMemory"})
    assert "inmemory_path" not in settings


def test_the_inmemory_container_is_always_a_template_variable():
    """Without a server it defaults into SQL Server on Linux's data folder, as FILESTREAM's does;
    `render` (sqlcmd variables) leaves it to the DBA as $(InMemoryPath)."""
    from deployer.engines import dialect_for
    from deployer.source.render import RenderOptions

    def inmemory_path(**options) -> str:
        options = RenderOptions(package_version="0", library=None, **options)
        return dialect_for("mssql").template_variables(options)["inmemory_path"]

    assert inmemory_path() == "/var/opt/mssql/data/Hartonomous_InMemory"
    assert inmemory_path(database_name="Shop", skip_filestream=True) == "/var/opt/mssql/data/Shop_InMemory"
    assert inmemory_path(inmemory_path="E:\\IM\\Shop") == "E:\\IM\\Shop"
    assert inmemory_path(sqlcmd_variables=True, inmemory_path="E:\\IM\\Shop") == "$(InMemoryPath)"


def test_the_filestream_script_refuses_a_linux_server_with_the_way_out():
    from deployer.package import render_package

    filegroup = next(r for r in render_package("mssql") if r.obj.name == "FilestreamFilegroup")
    guard = filegroup.sql.index("SERVERPROPERTY('PathSeparator')) = N'/'")
    code = [line for line in filegroup.sql.splitlines() if not line.strip().startswith("--")]
    assert not any("dm_os_host_info" in line for line in code)  # needs a server permission on 2022+
    assert guard < filegroup.sql.index("ADD FILEGROUP") and "--skip-filestream" in filegroup.sql[guard:]


# ---- the shadow database of the table comparison, against a recording fake of the server -------------
# No SQL Server runs here: the fakes answer the few queries the seam reads (SERVER_SQL, DB_ID) and
# record every statement, so the tests see exactly the T-SQL the seam sends.

class _Cursor:
    def __init__(self, row):
        self.row = row

    def fetchone(self):
        return self.row

    def nextset(self):
        return False


class RecordingConnection:
    """A pyodbc connection that records what it is sent; `answers` maps a statement to its row,
    `fail` makes statements containing a text raise pyodbc.Error."""

    def __init__(self, answers: dict | None = None, fail: str | None = None):
        self.sent: list[str] = []
        self.answers = answers or {}
        self.fail = fail
        self.autocommit = True
        self.closed = False

    def execute(self, sql, *params):
        import pyodbc

        self.sent.append(sql)
        if self.fail and self.fail in sql:
            raise pyodbc.Error("42000", f"[Microsoft][ODBC Driver 18 for SQL Server][SQL Server]refused: {self.fail}")
        return _Cursor(self.answers.get(sql, (1,)))

    def close(self):
        self.closed = True


WINDOWS = ("\\", "C:\\Program Files\\Microsoft SQL Server\\MSSQL16.MSSQLSERVER\\MSSQL\\DATA\\", 2)
LINUX = ("/", "/var/opt/mssql/data/", 0)


@pytest.fixture
def server(monkeypatch):
    """An MssqlEngine whose target session and shadow sessions are RecordingConnections."""
    import pyodbc

    from deployer.engines.mssql.statements import DATABASE_ID_SQL, SERVER_SQL

    class Server:
        def __init__(self):
            self.shadow_sessions: list[RecordingConnection] = []
            self.shadow_fail: str | None = None
            self.engine = MssqlEngine("DRIVER={ODBC Driver 18 for SQL Server};SERVER=sql01;DATABASE=Hartonomous;"
                                      "UID=deployer;PWD=secret")
            self.engine.conn = RecordingConnection({DATABASE_ID_SQL: (5,)})
            self.engine._in_database = True

        def facts(self, row):
            self.engine.conn.answers[SERVER_SQL] = row

        @property
        def sent(self) -> list[str]:
            return self.engine.conn.sent

    state = Server()

    def connect(odbc, autocommit=False):  # the shadow engine's session (it starts in master, then USE)
        session = RecordingConnection({DATABASE_ID_SQL: (6,)}, fail=state.shadow_fail)
        state.shadow_sessions.append(session)
        return session

    monkeypatch.setattr(pyodbc, "connect", connect)
    return state


def _shadow_objects(**options):
    from deployer.package import render_package
    from deployer.target.state import SHADOW_KINDS

    return [r for r in render_package("mssql", **options) if r.obj.kind in SHADOW_KINDS]


def _shadow_ddl(sent: list[str]) -> list[str]:
    return [s for s in sent if "DATABASE [Hartonomous_shadow_" in s]


def test_the_shadow_of_a_filestream_rendering_has_the_filegroups_its_tables_need(server):
    """With FILESTREAM (the default on a Windows server), dbo.AtomPayloadStore is created ON the
    HartonomousFilestream filegroup, and a memory-optimized table needs a MEMORY_OPTIMIZED_DATA
    filegroup: the shadow database must have both, each with a container of its own in the
    instance's default data folder, or every plan that compares tables fails."""
    server.facts(WINDOWS)
    settings, _ = server.engine.render_settings({"filestream_path": None, "skip_filestream": False,
                                                 "inmemory_path": None})
    objects = _shadow_objects(**settings)
    assert any("FILESTREAM_ON HartonomousFilestream" in b for r in objects for b in r.batches)
    with server.engine.shadow(objects) as shadow:
        name = shadow.database
        create = _shadow_ddl(server.sent)
    data = WINDOWS[1]
    assert create == [
        f"CREATE DATABASE [{name}]\n"
        f"ON PRIMARY (NAME = N'{name}', FILENAME = N'{data}{name}.mdf'),\n"
        f"FILEGROUP [HartonomousFilestream] CONTAINS FILESTREAM (NAME = N'{name}_Filestream', "
        f"FILENAME = N'{data}{name}_Filestream'),\n"
        f"FILEGROUP [HartonomousInMemory] CONTAINS MEMORY_OPTIMIZED_DATA (NAME = N'{name}_InMemory', "
        f"FILENAME = N'{data}{name}_InMemory');"]
    # the containers are derived as the published database's (settings_for_server), per shadow
    assert settings["filestream_path"] == f"{data}Hartonomous_Filestream"
    assert settings["inmemory_path"] == f"{data}Hartonomous_InMemory"
    # the FILESTREAM table ran in the shadow, after the database had its filegroup
    assert any("FILESTREAM_ON HartonomousFilestream" in s for s in server.shadow_sessions[0].sent)
    # and the shadow is gone afterwards, its files (the container too) with it
    assert _shadow_ddl(server.sent)[1:] == [
        f"ALTER DATABASE [{name}] SET SINGLE_USER WITH ROLLBACK IMMEDIATE;\nDROP DATABASE [{name}];"]
    assert server.sent[-1] == "USE [Hartonomous]" and server.shadow_sessions[0].closed


def test_every_shadow_gets_containers_of_its_own(server):
    server.facts(WINDOWS)
    server.engine.render_settings({"filestream_path": "D:\\FS\\Hartonomous", "skip_filestream": False,
                                   "inmemory_path": "E:\\IM\\Hartonomous"})
    for _ in range(2):
        with server.engine.shadow([]):
            pass
    creates = [s for s in _shadow_ddl(server.sent) if s.startswith("CREATE DATABASE")]
    containers = {line.rsplit("FILENAME = ", 1)[1] for s in creates for line in s.splitlines()[2:]}
    assert len(creates) == 2 and len(containers) == 4
    # beside the instance's data files, never inside the published database's containers
    assert all(c.startswith("N'" + WINDOWS[1]) and "D:\\FS" not in c and "E:\\IM" not in c for c in containers)


@pytest.mark.parametrize(("facts", "requested"), [
    (WINDOWS, {"filestream_path": None, "skip_filestream": True, "inmemory_path": None}),  # --skip-filestream
    # SQL Server on Linux has no FILESTREAM; its paths take '/'
    (LINUX, {"filestream_path": None, "skip_filestream": False, "inmemory_path": None}),
])
def test_a_rendering_without_filestream_gets_a_shadow_with_only_the_inmemory_filegroup(server, facts, requested):
    server.facts(facts)
    settings, _ = server.engine.render_settings(requested)
    objects = _shadow_objects(**{**requested, **settings})
    assert not any("FILESTREAM" in b for r in objects for b in r.batches)
    with server.engine.shadow(objects) as shadow:
        name = shadow.database
    data = facts[1]
    assert _shadow_ddl(server.sent) == [
        f"CREATE DATABASE [{name}]\n"
        f"ON PRIMARY (NAME = N'{name}', FILENAME = N'{data}{name}.mdf'),\n"
        f"FILEGROUP [HartonomousInMemory] CONTAINS MEMORY_OPTIMIZED_DATA (NAME = N'{name}_InMemory', "
        f"FILENAME = N'{data}{name}_InMemory');",
        f"ALTER DATABASE [{name}] SET SINGLE_USER WITH ROLLBACK IMMEDIATE;\nDROP DATABASE [{name}];"]
    assert not any("FILESTREAM" in s for s in server.sent)


def test_a_shadow_needs_the_default_data_folder_for_its_containers(server):
    """--inmemory-path names the published database's container, never a shadow's: without a default
    data folder the shadow has nowhere to go, and nothing is created."""
    server.facts(("/", None, 0))
    server.engine.render_settings({"filestream_path": None, "skip_filestream": False,
                                   "inmemory_path": "/mnt/fast/Hartonomous_InMemory"})
    with pytest.raises(TargetError, match="reports no default data folder"):
        with server.engine.shadow([]):
            pass
    assert _shadow_ddl(server.sent) == []


def test_the_shadow_is_dropped_when_an_object_fails_in_it_or_the_comparison_raises(server):
    server.facts(WINDOWS)
    server.engine.render_settings({"filestream_path": None, "skip_filestream": False, "inmemory_path": None})
    objects = _shadow_objects()
    server.shadow_fail = "CREATE TABLE dbo.AtomPayloadStore"
    with pytest.raises(TargetError, match="dbo.AtomPayloadStore .* fails in the shadow database"):
        with server.engine.shadow(objects):
            pass
    server.shadow_fail = None
    with pytest.raises(RuntimeError, match="comparison failed"):
        with server.engine.shadow(objects):
            raise RuntimeError("comparison failed")
    ddl = _shadow_ddl(server.sent)
    assert [s.split()[0] for s in ddl] == ["CREATE", "ALTER", "CREATE", "ALTER"]
    assert all("DROP DATABASE" in s for s in ddl[1::2])
    assert all(session.closed for session in server.shadow_sessions)
    assert server.sent[-1] == "USE [Hartonomous]"


def test_shadow_names_and_paths_are_quoted_never_pasted_in():
    from deployer.engines.mssql.statements import create_shadow_sql, drop_shadow_sql
    from tools.tsql_gate.parse import parse_problems

    create = create_shadow_sql("Hart_shadow_1", "C:\\O'Brien\\DATA]\\Hart_shadow_1.mdf",
                               "C:\\O'Brien\\DATA]\\Hart_shadow_1_InMemory",
                               "C:\\O'Brien\\DATA]\\Hart_shadow_1_Filestream")
    assert "FILENAME = N'C:\\O''Brien\\DATA]\\Hart_shadow_1.mdf'" in create
    assert "FILENAME = N'C:\\O''Brien\\DATA]\\Hart_shadow_1_InMemory'" in create
    assert "FILENAME = N'C:\\O''Brien\\DATA]\\Hart_shadow_1_Filestream'" in create
    assert parse_problems(create) == ()
    assert drop_shadow_sql("x]; DROP DATABASE master; --").count("[x]]; DROP DATABASE master; --]") == 2


def test_the_shadows_statements_are_in_the_gates_registry():
    """The gate parses STATEMENTS: the shadow's DDL is there as the seam builds it."""
    from deployer.engines.mssql import statements

    registered = statements.STATEMENTS
    assert "CONTAINS FILESTREAM" not in registered["create_shadow_sql(no filestream)"]
    assert "CONTAINS FILESTREAM" in registered["create_shadow_sql(filestream)"]
    assert all("CONTAINS MEMORY_OPTIMIZED_DATA" in registered[f"create_shadow_sql({which})"]
               for which in ("no filestream", "filestream"))
    assert registered["drop_shadow_sql"] == statements.drop_shadow_sql("Hartonomous_shadow_0123abcd")


def test_the_shadows_filegroups_are_the_ones_the_package_creates_and_its_tables_use():
    from deployer.engines.mssql.statements import FILESTREAM_FILEGROUP, INMEMORY_FILEGROUP
    from deployer.package import render_package

    rendered = {r.obj.name: r.sql for r in render_package("mssql")}
    assert f"ADD FILEGROUP {FILESTREAM_FILEGROUP} CONTAINS FILESTREAM" in rendered["FilestreamFilegroup"]
    assert f"FILESTREAM_ON {FILESTREAM_FILEGROUP}" in rendered["dbo.AtomPayloadStore"]
    assert f"ADD FILEGROUP {INMEMORY_FILEGROUP} CONTAINS MEMORY_OPTIMIZED_DATA" in rendered["MemoryOptimizedFilegroup"]


def test_the_filegroups_are_all_the_shadow_needs_beyond_schemas_and_tables():
    """The shadow runs only the package's schemas and tables; the other objects a SQL Server table
    requires are the FILESTREAM and In-Memory OLTP filegroups, which the shadow creates itself.
    Another would break it."""
    from deployer.package import render_package
    from deployer.target.state import SHADOW_KINDS

    rendered = render_package("mssql")
    kinds = {r.obj.name: r.obj.kind for r in rendered}
    needed = {req for r in rendered if r.obj.kind == "table" for req in r.obj.requires if kinds[req] not in SHADOW_KINDS}
    assert needed == {"FilestreamFilegroup", "MemoryOptimizedFilegroup"}
