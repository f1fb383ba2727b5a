"""The local PostgreSQL engine: one PostgreSQL 15 instance the project owns.

It is a plain initdb data directory (not a Debian-managed cluster) so the same code serves
`python -m deployer local up` and the test suite, which starts a throw-away instance of its own.
It listens on a Unix socket only, with peer authentication: no password exists, none can leak,
and only the OS user who created it connects as its superuser (and the server's own account, for the
autonomous loop's second session: _write_auth).

Settings it writes into its postgresql.conf:
    shared_preload_libraries = 'pg_cron,pg_stat_statements', cron.database_name = 'postgres' (pg_cron
    runs from the maintenance database and schedules jobs into others with cron.schedule_in_database;
    cron.use_background_workers, as the instance listens on no TCP port), pg_stat_statements.track =
    all (the autonomous loop reads the statements inside procedures too),
    hartonomous.python_site = the in-database venv's site-packages (read by the Python loader),
    hartonomous.model_import_dir = <home>/import, the one folder dbo.sp_IngestModel reads files from,
    shared_buffers = a quarter of the machine's memory, at most 8 GB (PostgreSQL's 128 MB default
    keeps a 1M-embedding table, 1.7 GB, out of its cache and makes searches thrash).
"""

from __future__ import annotations

import os
import pwd
import subprocess
from dataclasses import dataclass
from pathlib import Path

import psycopg
from psycopg import sql

from deployer.local.install import PG_MAJOR, pyenv_site_packages

DEFAULT_HOME = Path("/var/lib/hartonomous")
DEFAULT_PORT = 55432
LOCAL_DATABASE = "hartonomous"
SERVER_USER = "postgres"


def shared_buffers_mb() -> int:
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    return max(128, min(memory // 4, 8 << 30) >> 20)


class LocalInstanceError(Exception):
    pass


@dataclass
class LocalInstance:
    home: Path
    port: int = DEFAULT_PORT
    database: str = LOCAL_DATABASE
    pyenv: Path | None = None
    durable: bool = True  # False for throw-away test instances: fsync off

    @classmethod
    def default(cls) -> "LocalInstance":
        home = Path(os.environ.get("HARTONOMOUS_HOME", DEFAULT_HOME))
        port = int(os.environ.get("HARTONOMOUS_LOCAL_PORT", DEFAULT_PORT))
        return cls(home=home, port=port)

    # paths ------------------------------------------------------------------------------------
    @property
    def data_dir(self) -> Path:
        return self.home / "pgdata"

    @property
    def socket_dir(self) -> Path:
        return self.home / "run"

    @property
    def log_file(self) -> Path:
        return self.home / "log" / "postgresql.log"

    @property
    def pyenv_dir(self) -> Path:
        return self.pyenv or self.home / "pyenv"

    @property
    def bindir(self) -> Path:
        return Path(f"/usr/lib/postgresql/{PG_MAJOR}/bin")

    @property
    def superuser(self) -> str:
        # the effective user, as libpq sees it (getpass reads $USER, which `su` may leave behind)
        return pwd.getpwuid(os.geteuid()).pw_name

    def url(self, database: str | None = None, *, require_running: bool = False) -> str:
        if require_running and not self.running():
            raise LocalInstanceError(
                f"the local engine is not running ({self.data_dir}); start it with: python -m deployer local up"
            )
        return f"postgresql:///{database or self.database}?host={self.socket_dir}&port={self.port}"

    # process control --------------------------------------------------------------------------
    def _as_server(self, command: list[str]) -> list[str]:
        if os.geteuid() == 0:
            return ["runuser", "-u", SERVER_USER, "--", *command]
        return command

    def _server_owned(self, path: Path, mode: int) -> None:
        path.mkdir(parents=True, exist_ok=True)
        if os.geteuid() == 0:
            account = pwd.getpwnam(SERVER_USER)
            os.chown(path, account.pw_uid, account.pw_gid)
        path.chmod(mode)

    def _run(self, command: list[str], what: str) -> subprocess.CompletedProcess:
        done = subprocess.run(self._as_server(command), capture_output=True, text=True, check=False)
        if done.returncode != 0:
            raise LocalInstanceError(f"{what} failed (exit {done.returncode}): {(done.stderr or done.stdout).strip()}")
        return done

    def initialized(self) -> bool:
        return (self.data_dir / "PG_VERSION").exists()

    def running(self) -> bool:
        if not self.initialized():
            return False
        done = subprocess.run(self._as_server([str(self.bindir / "pg_ctl"), "status", "-D", str(self.data_dir)]),
                              capture_output=True, text=True, check=False)
        return done.returncode == 0

    def settings(self) -> dict[str, str]:
        site = pyenv_site_packages(self.pyenv_dir)
        values = {
            "port": str(self.port),
            "listen_addresses": "''",
            "unix_socket_directories": f"'{self.socket_dir}'",
            "shared_preload_libraries": "'pg_cron,pg_stat_statements'",
            "cron.database_name": "'postgres'",
            "cron.use_background_workers": "on",
            "max_worker_processes": "16",
            "pg_stat_statements.track": "all",
            "hartonomous.python_site": f"'{site}'",
            "hartonomous.model_import_dir": f"'{self.import_dir}'",
            "max_connections": "60",
            "shared_buffers": f"{shared_buffers_mb()}MB",
        }
        if not self.durable:
            values.update(fsync="off", synchronous_commit="off", full_page_writes="off")
        return values

    @property
    def import_dir(self) -> Path:
        """The one server folder dbo.sp_IngestModel may read model files from (by @Path)."""
        return self.home / "import"

    def _write_settings(self) -> bool:
        self.import_dir.mkdir(parents=True, exist_ok=True)
        self.import_dir.chmod(0o755)
        conf = self.data_dir / "conf.d"
        text = "# written by the Hartonomous deployer (deployer/local/engine.py); rewritten on every start\n"
        text += "".join(f"{key} = {value}\n" for key, value in self.settings().items())
        target = conf / "hartonomous.conf"
        if not target.exists() or target.read_text() != text:
            conf.mkdir(exist_ok=True)
            target.write_text(text)
            if os.geteuid() == 0:
                account = pwd.getpwnam(SERVER_USER)
                os.chown(conf, account.pw_uid, account.pw_gid)
                os.chown(target, account.pw_uid, account.pw_gid)
            return True
        return False

    def _write_auth(self) -> bool:
        """Peer authentication over the socket, with one mapping added: the server's own OS account
        may connect as the superuser. The autonomous loop's online actions (CREATE INDEX
        CONCURRENTLY, VACUUM) run in a second session the server opens to itself (dblink); that
        account already owns the data directory, so it gains nothing it did not have."""
        hba, ident = self.data_dir / "pg_hba.conf", self.data_dir / "pg_ident.conf"
        lines = hba.read_text().splitlines()
        changed = False
        for i, line in enumerate(lines):
            fields = line.split()
            if fields[:4] == ["local", "all", "all", "peer"] and len(fields) == 4:
                lines[i] = line + " map=hartonomous"
                changed = True
        mapping = [f"hartonomous  /^(.*)$  \\1", f"hartonomous  {SERVER_USER}  {self.superuser}"]
        present = ident.read_text().splitlines()
        missing = [m for m in mapping if m not in present]
        if changed:
            hba.write_text("\n".join(lines) + "\n")
        if missing:
            ident.write_text("\n".join(present + ["# written by the Hartonomous deployer (deployer/local/instance.py)"]
                                       + missing) + "\n")
        return changed or bool(missing)

    def init(self) -> None:
        self.home.mkdir(parents=True, exist_ok=True)
        self.home.chmod(0o755)
        self._server_owned(self.data_dir, 0o700)
        self._server_owned(self.socket_dir, 0o755)
        self._server_owned(self.log_file.parent, 0o755)
        self._run([str(self.bindir / "initdb"), "-D", str(self.data_dir), "-U", self.superuser, "-E", "UTF8",
                   "--locale=C.UTF-8", "--auth-local=peer", "--auth-host=scram-sha-256"], "initdb")
        with (self.data_dir / "postgresql.conf").open("a") as conf:
            conf.write("\ninclude_dir = 'conf.d'\n")

    def start(self) -> None:
        self._write_settings()
        self._write_auth()
        self._run([str(self.bindir / "pg_ctl"), "start", "-w", "-t", "60", "-D", str(self.data_dir),
                   "-l", str(self.log_file)], f"starting PostgreSQL (log: {self.log_file})")

    def stop(self) -> None:
        if self.running():
            self._run([str(self.bindir / "pg_ctl"), "stop", "-w", "-m", "fast", "-D", str(self.data_dir)],
                      "stopping PostgreSQL")

    def prepare_cluster(self) -> None:
        """Cluster-level set-up the package expects: pg_cron in the maintenance database, our database."""
        with psycopg.connect(self.url("postgres"), autocommit=True) as conn:
            conn.execute("CREATE EXTENSION IF NOT EXISTS pg_cron")
            exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (self.database,)).fetchone()
            if not exists:
                conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(self.database)))

    def create_database(self, name: str, *, template: str | None = None) -> str:
        """A new database `name` (an older one of that name is dropped), empty or a copy of `template`."""
        create = sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name))
        if template is not None:
            create = sql.SQL("{} TEMPLATE {}").format(create, sql.Identifier(template))
        with psycopg.connect(self.url("postgres"), autocommit=True) as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
            conn.execute(create)
            if template is not None:
                # CREATE DATABASE copies the contents, not the database's own settings (search_path)
                for (setting,) in conn.execute(
                        "SELECT unnest(s.setconfig) FROM pg_db_role_setting s JOIN pg_database d ON d.oid = s.setdatabase "
                        "WHERE d.datname = %s AND s.setrole = 0", (template,)).fetchall():
                    key, _, value = setting.partition("=")
                    # the server parses the value as it stored it (lists included); no value text in SQL
                    conn.execute("SELECT set_config(%s, %s, false)", (key, value))
                    conn.execute(sql.SQL("ALTER DATABASE {} SET {} FROM CURRENT").format(
                        sql.Identifier(name), sql.Identifier(key)))
                conn.execute("RESET ALL")
        return self.url(name)

    def up(self) -> None:
        if not self.initialized():
            self.init()
        if not self.running():
            self.start()
        elif self._write_settings() | self._write_auth():
            self.stop()  # preloaded libraries are read at start only
            self.start()
        self.prepare_cluster()

    def version(self) -> str:
        with psycopg.connect(self.url("postgres"), autocommit=True) as conn:
            return conn.execute("SHOW server_version").fetchone()[0]
