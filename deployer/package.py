"""The package: the database source in db/, read, ordered and rendered for one engine.

The one place that runs catalog -> graph -> render with the engine's dialect (the source room,
deployer.source, joined with the engines room's dialects), so render, plan, publish and verify
all see exactly the same objects and text. The source is found in the checkout (db/ beside deployer/)
or, in an installed wheel, as the package data deployer/db (pyproject.toml maps db/ there).
"""

from __future__ import annotations

from pathlib import Path

from deployer import __version__
from deployer.engines import dialect_for
from deployer.source.catalog import load_catalog
from deployer.source.graph import order
from deployer.source.library import build_library
from deployer.source.render import RenderedObject, RenderOptions, Renderer


def _source_root() -> Path:
    here = Path(__file__).resolve().parent  # the deployer package
    installed = here / "db"
    if (installed / "prerequisites").is_dir():
        return installed
    return here.parent / "db"  # a checkout (also an editable install)


DB_ROOT = _source_root()


def render_package(
    engine_name: str,
    *,
    db_root: Path = DB_ROOT,
    mssql_version: int | None = None,
    database_name: str | None = None,
    filestream_path: str | None = None,
    skip_filestream: bool = False,
    inmemory_path: str | None = None,
    sqlcmd_variables: bool = False,
) -> list[RenderedObject]:
    """Every object of the package for one engine, in deployment order, rendered by its dialect."""
    dialect = dialect_for(engine_name)
    catalog = load_catalog(db_root, dialect.name)
    renderer = Renderer(db_root, RenderOptions(
        package_version=__version__,
        library=build_library(db_root, __version__),
        mssql_version=mssql_version,
        database_name=database_name,
        filestream_path=filestream_path,
        skip_filestream=skip_filestream,
        inmemory_path=inmemory_path,
        sqlcmd_variables=sqlcmd_variables,
    ), dialect)
    return [renderer.render(o) for o in order(catalog.objects)]
