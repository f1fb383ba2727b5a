"""The engines room: one seam per database engine, and the registry that picks one.

    postgresql/   dialect.py (no server needed), engine.py (psycopg 3), data.py (client operations)
    mssql/        dialect.py, engine.py (pyodbc), data.py, statements.py (every T-SQL it sends)
    schema.py     SQLAlchemy/alembic shared by both: table descriptions, rendering table changes
    base.py       the contract: Dialect, Engine, DataOperations

Targets (--target):

    postgresql://... or postgres://...          PostgreSQL (psycopg 3)
    mssql+pyodbc://user@host:port/db?driver=...  SQL Server (pyodbc); password from
                                                 HARTONOMOUS_MSSQL_PASSWORD
    an ODBC connection string (DRIVER=...;...)   SQL Server
    mssql                                        SQL Server, the ODBC string in HARTONOMOUS_MSSQL_DSN

(The local engine's URL is resolved by the command line, deployer.cli.common.)
"""

from __future__ import annotations

import os

from deployer.engines.base import Dialect, Engine, TargetError
from deployer.engines.mssql.dialect import MssqlDialect
from deployer.engines.postgresql.dialect import PostgresDialect

MSSQL_DSN_ENV = "HARTONOMOUS_MSSQL_DSN"
DIALECTS: dict[str, Dialect] = {"mssql": MssqlDialect(), "postgresql": PostgresDialect()}  # one per catalog.ENGINES


def dialect_for(engine_name: str) -> Dialect:
    try:
        return DIALECTS[engine_name]
    except KeyError:
        raise TargetError(f"unknown engine '{engine_name}' (known: {', '.join(DIALECTS)})") from None


def engine_name_for(target: str) -> str:
    lowered = target.strip().lower()
    if lowered.startswith(("postgresql://", "postgres://")):
        return "postgresql"
    if lowered.startswith("mssql") or "driver=" in lowered or "dsn=" in lowered or "server=" in lowered:
        return "mssql"
    raise TargetError(
        "cannot tell the engine of the target: give a postgresql:// URL, an mssql+pyodbc:// URL, "
        f"an ODBC connection string, or 'mssql' to use ${MSSQL_DSN_ENV}"
    )


def open_engine(target: str, *, database: str | None = None) -> Engine:
    """The seam for a target (not connected yet). `database` names the SQL Server database when
    the connection string does not."""
    if engine_name_for(target) == "postgresql":
        from deployer.engines.postgresql.engine import PostgresEngine

        return PostgresEngine(target)
    from deployer.engines.mssql.engine import MssqlEngine

    if target.strip().lower() == "mssql":
        dsn = os.environ.get(MSSQL_DSN_ENV)
        if not dsn:
            raise TargetError(f"--target mssql reads the ODBC connection string from ${MSSQL_DSN_ENV}, which is not set")
        target = dsn
    return MssqlEngine(target, database=database)
