"""What the T-SQL gate checks, listed explicitly: the renderings of the package and the
deployer's own statements.

The gate runs after the render step (deployer.source.render) and before anything reaches a
server. Its input is named here and nowhere else:

- RENDER_VARIANTS: the SQL Server renderings of db/: one per supported version
  (deployer.engines.mssql.dialect.VERSIONS), plus the two switches that change the T-SQL text:
  the sqlcmd-variable form `python -m deployer render` writes, and --skip-filestream;
- the operation scripts `render` writes beside the package (deployer.engines.mssql.operations:
  backup and restore), with and without FILESTREAM, their sqlcmd variables given sample values;
- the deployer's own T-SQL: exactly deployer.engines.mssql.statements.STATEMENTS, the registry of
  every statement the SQL Server seam sends (history, reflection and the client commands' data
  operations), and HISTORY_DDL, whose CREATE TABLE statements define the deploy.* tables those
  statements are reference-checked against.

Nothing is discovered by scanning module globals: a statement the seam sends must be in
STATEMENTS, and tests/test_tsql_gate.py fails when a `*_SQL` constant of that module is not.
"""

from __future__ import annotations

from pathlib import Path

from deployer.engines.mssql import statements as mssql_statements
from deployer.engines.mssql.dialect import SESSION_SETTINGS, VERSIONS, split_batches
from deployer.engines.mssql.operations import operation_scripts
from deployer.package import DB_ROOT, render_package
from deployer.source.render import RenderedObject
from tools.tsql_gate.text import bind_placeholders

# variant name -> render_package options
RENDER_VARIANTS: dict[str, dict] = {
    **{f"mssql{v}": {"mssql_version": v} for v in VERSIONS},
    "mssql2022-sqlcmd": {"mssql_version": 2022, "sqlcmd_variables": True},
    "mssql2022-skip-filestream": {"mssql_version": 2022, "skip_filestream": True},
}
# the rendering whose tables the deployer's data operations are reference-checked against
DEFAULT_VARIANT = "mssql2022"

# where the deployer's statements are defined: the prefix of their labels in failures
STATEMENTS_SOURCE = "deployer/engines/mssql/statements.py"


def render_variant(variant: str, *, db_root: Path = DB_ROOT) -> list[RenderedObject]:
    """The package (db/, or a copy of it) rendered for SQL Server as RENDER_VARIANTS[variant] says."""
    return list(render_package("mssql", db_root=db_root, **RENDER_VARIANTS[variant]))


def deployer_sql() -> list[tuple[str, str]]:
    """The deployer's own T-SQL: (label, the text as the server receives it), one per entry of
    STATEMENTS, its pyodbc `?` markers bound to @P1..@Pn. Read at each call, so a test may patch
    the registry."""
    return [(f"{STATEMENTS_SOURCE}: {name}", bind_placeholders(sql))
            for name, sql in mssql_statements.STATEMENTS.items()]


def history_ddl() -> list[str]:
    """The DDL of the deployer's history tables (deploy.*), as the seam runs it."""
    return list(mssql_statements.HISTORY_DDL)


# the operation scripts' sqlcmd variables, as a DBA would give them (the gate parses T-SQL, not sqlcmd)
OPERATION_VARIABLES = {
    "DatabaseName": "HartonomousCopy", "SourceDatabaseName": "Hartonomous", "BackupFile": "D:\\Backup\\h.bak",
    "DataFile": "D:\\SQLData\\h.mdf", "LogFile": "D:\\SQLData\\h_log.ldf", "FilestreamPath": "D:\\SQLData\\h_fs",
    "InMemoryPath": "D:\\SQLData\\h_inmemory", "BrokerMode": "NEW_BROKER",
}


def operation_batches() -> list[tuple[str, int, str]]:
    """(label, batch number, batch) of each operation script, with and without FILESTREAM: sqlcmd
    commands (:on error exit) left out, variables replaced by OPERATION_VARIABLES."""
    found = []
    for filestream in (True, False):
        for name, text in operation_scripts("0", 2022, filestream, SESSION_SETTINGS).items():
            lines = [line for line in text.splitlines() if not line.startswith(":")]
            script = "\n".join(lines) + "\n"
            for variable, value in OPERATION_VARIABLES.items():
                script = script.replace(f"$({variable})", value)
            label = f"{name}{'' if filestream else ' (--skip-filestream)'}"
            found += [(label, number, batch) for number, batch in enumerate(split_batches(script), start=1)]
    return found
