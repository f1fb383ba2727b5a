"""Engine registry: pick the engine seam for a --target.

    postgresql://... or postgres://...          PostgreSQL (psycopg 3)
    mssql+pyodbc://user@host:port/db?driver=...  SQL Server (pyodbc); password from
                                                 HARTONOMOUS_MSSQL_PASSWORD
    an ODBC connection string (DRIVER=...;...)   SQL Server
    mssql                                        SQL Server, the ODBC string in HARTONOMOUS_MSSQL_DSN
    (no target)                                  the local PostgreSQL engine (deployer local up)
"""

from __future__ import annotations

import os

from deployer.engines.base import Engine, TargetError

MSSQL_DSN_ENV = "HARTONOMOUS_MSSQL_DSN"


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


def open_engine(target: str | None, *, database: str | None = None) -> Engine:
    if target is None:
        from deployer.local.engine import LocalEngine

        target = LocalEngine.default().url(require_running=True)
    name = engine_name_for(target)
    if name == "postgresql":
        from deployer.engines.postgresql import PostgresEngine

        return PostgresEngine(target)
    from deployer.engines.mssql import MssqlEngine

    if target.strip().lower() == "mssql":
        dsn = os.environ.get(MSSQL_DSN_ENV)
        if not dsn:
            raise TargetError(f"--target mssql reads the ODBC connection string from ${MSSQL_DSN_ENV}, which is not set")
        target = dsn
    return MssqlEngine(target, database=database)
