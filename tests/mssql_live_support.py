"""What the live SQL Server suites share (tests/test_mssql_live.py, tests/test_mssql_live_loop.py): the
server they run against, a database published for a module, and reading rows back.

HARTONOMOUS_MSSQL_DSN is an ODBC connection string to a SQL Server 2019+ with Machine Learning
Services (Python) and a login allowed to create a database; HARTONOMOUS_MSSQL_VERSION (2019, 2022,
2025) is its version, 2022 by default. Without the DSN the suites are skipped, saying so.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

DSN = os.environ.get("HARTONOMOUS_MSSQL_DSN")
VERSION = os.environ.get("HARTONOMOUS_MSSQL_VERSION", "2022")


def published_database(prefix: str, logs: Path) -> Iterator[str]:
    """A fresh database published with the package (no FILESTREAM), dropped afterwards: for a
    module-scoped fixture to yield from."""
    from deployer import cli

    name = f"{prefix}_{uuid.uuid4().hex[:8]}"
    code = cli.main(["publish", "--target", "mssql", "--database-name", name, "--mssql-version", VERSION,
                     "--skip-filestream", "--log-dir", str(logs)])
    assert code == 0, f"publish to SQL Server failed; see {logs}"
    yield name
    drop_database(name)


def drop_database(name: str) -> None:
    import pyodbc

    with pyodbc.connect(DSN, autocommit=True) as conn:
        conn.execute("USE master")
        conn.execute(f"ALTER DATABASE [{name}] SET SINGLE_USER WITH ROLLBACK IMMEDIATE")
        conn.execute(f"DROP DATABASE [{name}]")


def rows(database: str, batch: str, *params) -> list[tuple]:
    """The rows of the batch's first result set (SET NOCOUNT ON batches may print counts first)."""
    import pyodbc

    with pyodbc.connect(DSN, autocommit=True) as conn:
        conn.execute(f"USE [{database}]")
        cursor = conn.execute(batch, *params)
        while cursor.description is None and cursor.nextset():
            pass
        return [tuple(r) for r in cursor.fetchall()] if cursor.description else []


def scalar(database: str, batch: str, *params):
    return rows(database, batch, *params)[0][0]
