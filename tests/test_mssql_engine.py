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


@pytest.mark.parametrize(("separator", "data_path", "level", "requested", "expected"), [
    ("/", "/var/opt/mssql/data/", 0, {}, {"skip_filestream": True}),
    ("\\", "C:\\SQL\\DATA\\", 2, {}, {"filestream_path": "C:\\SQL\\DATA\\Hartonomous_Filestream"}),
    ("\\", "C:\\SQL\\DATA\\", 3, {"filestream_path": "D:\\FS\\H"}, {}),
    ("/", "/var/opt/mssql/data/", 0, {"skip_filestream": True}, {}),
    ("\\", "C:\\SQL\\DATA\\", 0, {"skip_filestream": True}, {}),
])
def test_filestream_follows_the_servers_platform(separator, data_path, level, requested, expected):
    """SQL Server on Linux has no FILESTREAM: publish stores payloads as VARBINARY(MAX) there and
    says so; on Windows the container goes to the instance's default data folder. The facts come
    from SERVERPROPERTY, which any login may read."""
    from deployer.engines import dialect_for

    settings, notices = dialect_for("mssql").settings_for_server(separator, data_path, level, "Hartonomous", requested)
    assert settings == expected
    assert len(notices) == (1 if expected else 0)


@pytest.mark.parametrize(("data_path", "level", "message"), [
    ("C:\\SQL\\DATA\\", 0, "FILESTREAM is off on this instance"),
    (None, 2, "give one with --filestream-path"),
])
def test_a_windows_server_that_cannot_hold_filestream_stops_before_planning(data_path, level, message):
    from deployer.engines import dialect_for

    with pytest.raises(TargetError, match=message):
        dialect_for("mssql").settings_for_server("\\", data_path, level, "Hartonomous", {})


def test_the_filestream_script_refuses_a_linux_server_with_the_way_out():
    from deployer.package import render_package

    filegroup = next(r for r in render_package("mssql") if r.obj.name == "FilestreamFilegroup")
    guard = filegroup.sql.index("SERVERPROPERTY('PathSeparator')) = N'/'")
    code = [line for line in filegroup.sql.splitlines() if not line.strip().startswith("--")]
    assert not any("dm_os_host_info" in line for line in code)  # needs a server permission on 2022+
    assert guard < filegroup.sql.index("ADD FILEGROUP") and "--skip-filestream" in filegroup.sql[guard:]
