"""Hartonomous deployer: renders the database source in db/ and applies it as an eight-stage graph.

The pipeline, one module per step:

    catalog  -> read db/ into objects (name, kind, stage, requirements, per-engine source)
    render   -> jinja2 per engine (StrictUndefined) into SQL text with a normalized hash
    graph    -> order by the eight stages, topologically inside a stage
    plan     -> compare with the deployment history on the target: create/alter/reapply/unchanged
    apply    -> execute the plan (or print it for --dry-run), record history, write JSON logs
    verify   -> stage 8 checks against the live target
    report   -> the tables and summaries people read

Engine-specific code lives behind one seam per engine in deployer.engines.
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("hartonomous")
except PackageNotFoundError:  # running from a checkout without an install
    __version__ = "0.0.0+checkout"
