"""Build the external Python library (stage 3) from db/external_scripts as a wheel.

The same wheel is installed on both engines: SQL Server takes it, zipped once more as its
documentation asks, with CREATE EXTERNAL LIBRARY; PostgreSQL keeps it in dbo.ExternalLibraries
and imports it from memory. The build is
byte-for-byte reproducible (files sorted, fixed timestamps, stored uncompressed, line endings
normalized), so an unchanged library has an unchanged hash and is not redeployed.
"""

from __future__ import annotations

import base64
import hashlib
import zipfile
from dataclasses import dataclass
from io import BytesIO
from pathlib import Path

LIBRARY_NAME = "hartonomous_ext"
_FIXED_TIME = (1980, 1, 1, 0, 0, 0)


@dataclass(frozen=True)
class ExternalLibrary:
    name: str
    version: str
    wheel: bytes

    @property
    def filename(self) -> str:
        return f"{self.name}-{self.version}-py3-none-any.whl"

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.wheel).hexdigest()

    @property
    def hex(self) -> str:
        return self.wheel.hex().upper()

    @property
    def mssql_package(self) -> bytes:
        """What CREATE EXTERNAL LIBRARY takes for Python: a zip archive holding the wheel (SQL Server
        does not accept a .whl uploaded directly)."""
        buffer = BytesIO()
        with zipfile.ZipFile(buffer, "w") as archive:
            _add(archive, self.filename, self.wheel)
        return buffer.getvalue()

    @property
    def mssql_package_hex(self) -> str:
        return self.mssql_package.hex().upper()

    @property
    def base64(self) -> str:
        return base64.b64encode(self.wheel).decode("ascii")

    @property
    def size(self) -> int:
        return len(self.wheel)


def _record_hash(data: bytes) -> str:
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return f"sha256={digest},{len(data)}"


def _add(archive: zipfile.ZipFile, name: str, data: bytes) -> None:
    info = zipfile.ZipInfo(name, date_time=_FIXED_TIME)
    info.external_attr = 0o644 << 16
    info.compress_type = zipfile.ZIP_STORED
    archive.writestr(info, data)


def _normalized_source(path: Path) -> bytes:
    return path.read_bytes().replace(b"\r\n", b"\n")


def build_library(db_root: Path, version: str) -> ExternalLibrary:
    package_dir = db_root / "external_scripts" / LIBRARY_NAME
    if not (package_dir / "__init__.py").is_file():
        raise FileNotFoundError(f"{package_dir}: the external library package is missing its __init__.py")
    # wheel versions may not carry a local part with '+'; keep it PEP 440-clean
    wheel_version = version.split("+", 1)[0]
    files = sorted(p for p in package_dir.rglob("*.py") if "__pycache__" not in p.parts)
    dist_info = f"{LIBRARY_NAME}-{wheel_version}.dist-info"
    entries: list[tuple[str, bytes]] = [
        (p.relative_to(package_dir.parent).as_posix(), _normalized_source(p)) for p in files
    ]
    entries.append((f"{dist_info}/METADATA", (
        f"Metadata-Version: 2.1\nName: {LIBRARY_NAME}\nVersion: {wheel_version}\n"
        "Summary: Hartonomous in-database Python (vector math and the algorithms the procedures call)\n"
    ).encode()))
    entries.append((f"{dist_info}/WHEEL", (
        "Wheel-Version: 1.0\nGenerator: hartonomous-deployer\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
    ).encode()))
    record = "".join(f"{name},{_record_hash(data)}\n" for name, data in entries) + f"{dist_info}/RECORD,,\n"
    entries.append((f"{dist_info}/RECORD", record.encode()))

    buffer = BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in entries:
            _add(archive, name, data)
    return ExternalLibrary(name=LIBRARY_NAME, version=wheel_version, wheel=buffer.getvalue())
