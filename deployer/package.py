"""The package: the database source in db/, read, ordered and rendered for one engine.

The one place that runs catalog -> graph -> render, so render, plan, publish and verify all see
exactly the same objects and text.
"""

from __future__ import annotations

from pathlib import Path

from deployer import __version__
from deployer.catalog import load_catalog
from deployer.graph import order
from deployer.library import build_library
from deployer.render import RenderedObject, RenderOptions, Renderer

DB_ROOT = Path(__file__).resolve().parents[1] / "db"


def render_package(
    engine: str,
    *,
    db_root: Path = DB_ROOT,
    mssql_version: int | None = None,
    database_name: str | None = None,
    filestream_path: str | None = None,
    skip_filestream: bool = False,
    sqlcmd_variables: bool = False,
) -> list[RenderedObject]:
    catalog = load_catalog(db_root, engine)
    ordered = order(catalog.objects)
    options = {
        k: v for k, v in {
            "mssql_version": mssql_version,
            "database_name": database_name,
            "filestream_path": filestream_path,
        }.items() if v is not None
    }
    renderer = Renderer(db_root, RenderOptions(
        engine=engine,
        package_version=__version__,
        library=build_library(db_root, __version__),
        skip_filestream=skip_filestream,
        sqlcmd_variables=sqlcmd_variables,
        **options,
    ))
    return [renderer.render(o) for o in ordered]
