"""Hostile input, generated from the catalog (PostgreSQL): every routine the application role may
execute, called with each parameter in turn set to NULL, empty, oversized, negative, NaN/inf,
the wrong type and injection strings, as the application role and as an administrator. Each call
either succeeds or fails with a clear error (no Python traceback, no internal error), and a failed
call leaves every table as it was (checksums of every table before and after).

The counts go into `hostile_counts` (printed at the end of the run with -s) for the closing note.
"""

from __future__ import annotations

import math
import struct
import uuid
from dataclasses import dataclass, field

import psycopg
import pytest
from psycopg import sql

from deployer import cli
from deployer.engines.postgresql.engine import PostgresEngine

INJECTION = "'); DROP TABLE dbo.Atoms; --"
TRACEBACK_MARKS = ("Traceback", "plpy.", 'File "<', "PL/Python function")
# functions row-level security asks as the caller, and what they answer about another tenant
TENANT_QUESTIONS = {"fn_tenantaccesspredicate": False, "fn_tenantisactive": None}


def f32(*values: float) -> bytes:
    return struct.pack(f"<{len(values)}f", *values)


# a valid value for each parameter by name, so that a call reaches the parameter under test
BASELINE = {
    "content": b"hostile input baseline", "contenttype": "text/plain", "metadata": '{"source": "hostile"}',
    "text_value": "hello", "query_text": "hello", "prompt": "hello", "text_values": ["hello"],
    "v": f32(1, 2, 3), "v1": f32(1, 2, 3), "v2": f32(4, 5, 6), "vector": f32(1, 2, 3),
    "atoms": '[{"content": "aGVsbG8gaG9zdGlsZQ==", "contentType": "text/plain"}]',
    "snapshotname": "hostile-snapshot", "modelids": "1", "max_tokens": 4, "tensorname": "w", "data": f32(1, 2),
    "top_k": 5, "targetdatetime": "2026-01-01T00:00:00Z", "manifest": "{}", "modelid": None, "tenantid": None,
    "atomid": 1, "maxdepth": 3,  # the lineage calls: tenant 1's first atom
}

# per parameter type: values a hostile or careless caller sends
HOSTILE = {
    "text": [None, "", "x" * 1_000_000, INJECTION, "é漢😀", "NaN", "-1"],
    "bytea": [None, b"", b"abc", b"\x00" * 1_000_001, INJECTION.encode()],
    "integer": [None, -1, 0, 2_147_483_647, -2_147_483_648, "abc", INJECTION],
    "bigint": [None, -1, 9_223_372_036_854_775_807, "abc"],
    "double precision": [None, math.nan, math.inf, -math.inf, -1.0, 1e308, "abc"],
    "jsonb": [None, "", "not json", "[]", '{"a": ' * 2000 + "1" + "}" * 2000, INJECTION],
    "anycompatible": [None, "yes", 2, -1, INJECTION],
    "timestamp with time zone": [None, "infinity", "-infinity", "not a date", INJECTION],
    "text[]": [None, [], [""], ["x" * 100_000] * 20, [INJECTION]],
}


@dataclass
class Counts:
    calls: int = 0
    succeeded: int = 0
    refused_cleanly: int = 0
    tables_unchanged: int = 0
    problems: list[str] = field(default_factory=list)


hostile_counts: dict[str, Counts] = {}


@pytest.fixture(scope="module")
def target(pg_instance, tmp_path_factory):
    database = f"hostile_{uuid.uuid4().hex[:6]}"
    url = pg_instance.create_database(database)
    assert cli.main(["publish", "--target", url, "--log-dir", str(tmp_path_factory.mktemp("logs"))]) == 0
    login = f"hostile_app_{uuid.uuid4().hex[:6]}"
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE ROLE {} LOGIN").format(sql.Identifier(login)))
        for text in ("apples and pears", "a quiet harbour at night"):
            conn.execute("CALL dbo.sp_IngestAtom(%s, 'text/plain', TenantId => 1, GenerateEmbedding => 1)", (text.encode(),))
        conn.execute("CALL dbo.sp_IngestAtom(%s, 'text/plain', TenantId => 2, GenerateEmbedding => 1)", (b"tenant two",))
    assert cli.main(["grant", "--target", url, "--login", login, "--role", "app", "--tenant", "1"]) == 0
    return {"url": url, "database": database, "login": login}


def routines(url: str, database: str) -> list[tuple[str, str, list[tuple[str, str, bool]]]]:
    """(name, kind, [(parameter, type, has a default)]) of every routine the app role may execute."""
    with psycopg.connect(url) as conn:
        rows = conn.execute(
            "SELECT p.proname, p.prokind, coalesce(p.proargnames, '{}'), p.proargtypes::regtype[]::text[], "
            "coalesce(p.proargmodes::text[], '{}'), p.pronargdefaults "
            "FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace "
            "WHERE n.nspname = 'dbo' AND has_function_privilege(%s, p.oid, 'EXECUTE') ORDER BY 1",
            (database + "_app",)).fetchall()
    found = []
    for name, kind, names, types, modes, defaults in rows:
        inputs = [n for n, m in zip(names, modes or ["i"] * len(names)) if m in ("i", "b")]
        first_default = len(types) - defaults
        found.append((name, kind, [(n, t, i >= first_default) for i, (n, t) in enumerate(zip(inputs, types))]))
    return found


def call_text(name: str, kind: str, arguments: dict) -> sql.Composed:
    named = sql.SQL(", ").join(sql.SQL("{} => {}").format(sql.Identifier(k), sql.Placeholder(k)) for k in arguments)
    if kind == "p":
        return sql.SQL("CALL dbo.{}({})").format(sql.Identifier(name), named)
    return sql.SQL("SELECT * FROM dbo.{}({})").format(sql.Identifier(name), named)


@pytest.mark.parametrize("as_role", ["app", "admin"])
def test_every_routine_refuses_hostile_input_cleanly(target, as_role):
    url = target["url"]
    engine = PostgresEngine(url)
    engine.connect()
    counts = hostile_counts.setdefault(as_role, Counts())
    try:
        before = engine.table_checksums()
        for name, kind, parameters in routines(url, target["database"]):
            if name in ("sp_setsessiontenant",):
                continue  # a session's tenant is set once: tests/test_tenancy.py calls it
            baseline = {p: BASELINE.get(p) for p, _, has_default in parameters if not has_default}
            for parameter, type_name, _ in parameters:
                for value in HOSTILE.get(type_name, [None]):
                    arguments = dict(baseline, **{parameter: value})
                    counts.calls += 1
                    with psycopg.connect(url, autocommit=True) as conn:
                        if as_role == "app":
                            conn.execute(sql.SQL("SET SESSION AUTHORIZATION {}").format(sql.Identifier(target["login"])))
                        label = f"{as_role}: {name}({parameter} => {str(value)[:40]!r})"
                        rows = []
                        try:
                            cursor = conn.execute(call_text(name, kind, arguments), arguments)
                            if cursor.description:
                                rows = cursor.fetchall()
                        except psycopg.Error as exc:
                            message = str(exc)
                            # 38000: an exception escaped from the Python; XX, 58: internal and system errors
                            if exc.sqlstate is None or exc.sqlstate.startswith(("XX", "58", "38")) or \
                                    any(mark in message for mark in TRACEBACK_MARKS):
                                counts.problems.append(f"{label}: {exc.sqlstate} {message.splitlines()[0][:160]}")
                            else:
                                counts.refused_cleanly += 1
                            after = engine.table_checksums()
                            if after == before:
                                counts.tables_unchanged += 1
                            else:
                                changed = sorted(t for t in after if after[t] != before.get(t))
                                counts.problems.append(f"{label}: failed but changed {changed}")
                                before = after
                            continue
                        counts.succeeded += 1
                        if as_role == "app" and parameter == "tenantid" and value not in (None, 1):
                            # the row-level security helpers answer about another tenant: no, unknown
                            if name in TENANT_QUESTIONS and rows == [(TENANT_QUESTIONS[name],)]:
                                counts.succeeded -= 1
                                counts.refused_cleanly += 1
                                counts.tables_unchanged += 1
                            else:
                                counts.problems.append(f"{label}: another tenant's id was served: {rows[:1]}")
                    before = engine.table_checksums()
    finally:
        engine.close()
    print(f"\nhostile input as {as_role}: {counts.calls} calls, {counts.succeeded} succeeded, "
          f"{counts.refused_cleanly} refused cleanly, {counts.tables_unchanged} failed calls left every table unchanged")
    assert counts.problems == [], "\n".join(counts.problems)
