"""`pip install .` gives a working deployer outside a checkout.

The wheel is built from this checkout and installed into a fresh venv; the venv borrows the
third-party packages (jinja2, alembic, numpy...) from the test environment through a path file,
but not its editable install of this project, so everything of ours must come from the wheel:
the deployer, the database source as package data, and hartonomous_ext. Run from a folder
outside the checkout, it renders both engines exactly as the checkout does.
"""

from __future__ import annotations

import filecmp
import subprocess
import sys
import sysconfig
import venv
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Path:
    """The python of a fresh venv holding only the wheel (and, by path, the third-party packages)."""
    work = tmp_path_factory.mktemp("wheel")
    subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation",
                    "-w", str(work / "dist"), str(ROOT)], check=True, capture_output=True)
    wheel, = (work / "dist").glob("hartonomous-*.whl")
    venv.EnvBuilder(with_pip=False).create(work / "venv")
    python = work / "venv" / "bin" / "python"
    site = Path(subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                               check=True, capture_output=True, text=True).stdout.strip())
    # third-party packages from the test environment; a plain path line does not run that
    # folder's own .pth files, so the editable install of this checkout stays out
    (site / "borrowed.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--no-index",
                    "--target", str(site), str(wheel)], check=True, capture_output=True)
    return python


def run_installed(python: Path, cwd: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(python), *args], cwd=cwd, capture_output=True, text=True, timeout=300)


def test_the_installed_package_is_not_the_checkout(installed, tmp_path):
    result = run_installed(installed, tmp_path, "-c",
                           "import deployer, deployer.package, hartonomous_ext; "
                           "print(deployer.__file__); print(deployer.package.DB_ROOT); print(hartonomous_ext.__file__)")
    assert result.returncode == 0, result.stderr
    for line in result.stdout.split():
        assert str(ROOT) not in line and "site-packages" in line, line


@pytest.mark.parametrize("engine", ["mssql", "postgresql"])
def test_the_installed_package_renders_what_the_checkout_renders(installed, tmp_path, engine, run):
    from_wheel = tmp_path / "wheel"
    result = run_installed(installed, tmp_path, "-m", "deployer", "render", "--engine", engine, "--out", str(from_wheel))
    assert result.returncode == 0, result.stderr
    from_checkout = tmp_path / "checkout"
    assert run("render", "--engine", engine, "--out", from_checkout).code == 0
    script = "hartonomous-mssql-2022.sql" if engine == "mssql" else "hartonomous-postgresql.sql"
    assert (from_wheel / script).read_text() == (from_checkout / script).read_text()
    comparison = filecmp.dircmp(from_wheel / "objects", from_checkout / "objects")
    assert not comparison.diff_files and not comparison.left_only and not comparison.right_only
    assert len(list((from_wheel / "objects").rglob("*.sql"))) > 40


def test_the_installed_client_reads_model_files(installed, tmp_path):
    model = tmp_path / "tiny.safetensors"
    header = b'{"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}'
    model.write_bytes(len(header).to_bytes(8, "little") + header + b"\0" * 8)
    result = run_installed(installed, tmp_path, "-m", "deployer", "detect-format", str(model))
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "safetensors"
