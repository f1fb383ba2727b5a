"""Install what the local engine needs: Debian packages and the in-database Python environment.

Idempotent: each part checks first and does nothing when it is already in place, so the README's
commands can run it every time. Package installation needs root (apt-get).

The in-database environment is a venv made with Debian's /usr/bin/python3 (the interpreter
plpython3u embeds), holding numpy, scipy, scikit-learn, pandas and onnxruntime from PyPI. It is
not mixed with Debian's python3-* science packages. PostgreSQL finds it through the setting
`hartonomous.python_site`, which the local engine writes into its postgresql.conf.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
from pathlib import Path

from rich.console import Console

PG_MAJOR = 15
APT_PACKAGES = [
    f"postgresql-{PG_MAJOR}",
    f"postgresql-plpython3-{PG_MAJOR}",
    f"postgresql-{PG_MAJOR}-postgis-3",
    f"postgresql-{PG_MAJOR}-cron",
    f"postgresql-{PG_MAJOR}-hypopg",
    "python3",
    "python3-venv",
    "unixodbc",
]
SYSTEM_PYTHON = "/usr/bin/python3"
REQUIREMENTS = Path(__file__).resolve().parents[2] / "db" / "external_scripts" / "requirements.txt"


class InstallError(Exception):
    pass


def _installed(package: str) -> bool:
    probe = subprocess.run(
        ["dpkg-query", "-W", "-f=${Status}", package], capture_output=True, text=True, check=False
    )
    return probe.returncode == 0 and probe.stdout.strip().endswith("installed") and "not-installed" not in probe.stdout


def missing_packages() -> list[str]:
    if shutil.which("dpkg-query") is None:
        raise InstallError("dpkg-query not found: the local engine installs itself on Debian/Ubuntu only")
    return [p for p in APT_PACKAGES if not _installed(p)]


def _run(command: list[str], log: Path, console: Console, what: str, env: dict | None = None) -> None:
    with console.status(what), log.open("a", encoding="utf-8") as out:
        out.write(f"\n$ {' '.join(command)}\n")
        out.flush()
        done = subprocess.run(command, stdout=out, stderr=subprocess.STDOUT, env=env, check=False)
    if done.returncode != 0:
        tail = "".join(log.read_text(encoding="utf-8", errors="replace").splitlines(keepends=True)[-15:])
        raise InstallError(f"{what} failed (exit {done.returncode}); the end of {log}:\n{tail}")


def install_packages(home: Path, console: Console) -> list[str]:
    missing = missing_packages()
    if not missing:
        return []
    if os.geteuid() != 0:
        raise InstallError(
            "these Debian packages are missing and installing them needs root: "
            + " ".join(missing) + f"\n  run: sudo apt-get install -y {' '.join(missing)}"
        )
    log = home / "install.log"
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    _run(["apt-get", "update", "-q"], log, console, "apt-get update", env)
    _run(["apt-get", "install", "-y", "-q", "--no-install-recommends", *missing], log, console,
         f"installing {', '.join(missing)}", env)
    return missing


def pyenv_site_packages(pyenv: Path) -> Path:
    done = subprocess.run(
        [str(pyenv / "bin" / "python"), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True, text=True, check=True,
    )
    return Path(done.stdout.strip())


def install_pyenv(pyenv: Path, console: Console) -> bool:
    """Create or update the in-database venv; False when it was already up to date."""
    _check_server_can_read(pyenv.parent)
    requirements = REQUIREMENTS.read_bytes()
    marker = pyenv / ".hartonomous-requirements.sha256"
    wanted = hashlib.sha256(requirements).hexdigest()
    if marker.exists() and marker.read_text().strip() == wanted and (pyenv / "bin" / "python").exists():
        return False
    log = pyenv.parent / "install.log"
    pyenv.parent.mkdir(parents=True, exist_ok=True)
    if not (pyenv / "bin" / "python").exists():
        _run([SYSTEM_PYTHON, "-m", "venv", str(pyenv)], log, console, f"creating the in-database venv {pyenv}")
    _run([str(pyenv / "bin" / "python"), "-m", "pip", "install", "-q", "--upgrade", "pip"], log, console,
         "upgrading pip in the in-database venv")
    _run([str(pyenv / "bin" / "python"), "-m", "pip", "install", "-q", "-r", str(REQUIREMENTS)], log, console,
         "installing numpy, scipy, scikit-learn, pandas, onnxruntime into the in-database venv")
    marker.write_text(wanted + "\n")
    return True


def _check_server_can_read(folder: Path) -> None:
    """The server runs as the postgres user: every folder above the venv must let others in (x)."""
    for path in [folder, *folder.parents]:
        if path.exists() and not path.stat().st_mode & 0o001:
            raise InstallError(f"{path} does not let other users in, so the postgres user cannot reach the "
                               "in-database venv; use a HARTONOMOUS_HOME under a folder others can enter")
