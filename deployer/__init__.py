"""Hartonomous deployer: renders the database source in db/ and applies it as an eight-stage graph.

The pipeline, one module per step:

    catalog  -> read db/ into objects (name, kind, stage, requirements, per-engine source)
    graph    -> order by the eight stages, topologically inside a stage
    render   -> jinja2 per engine (StrictUndefined) into SQL text with a normalized hash
    compare  -> read the target: history, fingerprints (drift), table diffs, data-loss counts
    plan     -> one action per object: create/alter/reapply/drop/unchanged/skip/blocked/verify
    apply    -> execute the plan (or print it for --dry-run), record history, write JSON logs
    verify   -> stage 8 checks against the live target
    report   -> the tables and summaries people read (text, JSON, Markdown)

Engine-specific code lives behind one seam per engine in deployer.engines.
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("hartonomous")
except PackageNotFoundError:  # running from a checkout without an install
    __version__ = "0.0.0+checkout"
