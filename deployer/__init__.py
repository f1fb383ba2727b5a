"""Hartonomous deployer: renders the database source in db/ and applies it as an eight-stage graph.

The rooms (docs/architecture.md is the map):

    source/    db/ read into objects, ordered by stage and requirement, rendered to text
    engines/   one seam per engine: a dialect (no server) and a connected engine (history,
               apply, fingerprints, checks, the client's data operations)
    package    the source rendered for one engine's dialect
    target/    inspect a target -> plan (plain data) -> apply -> verify
    report/    tables, logs, scripts and the progress bar people see
    client/    the data commands (atoms, model files), through engine.data
    local/     the local PostgreSQL instance and its installation
    cli/       `python -m deployer`, a thin layer over the rest
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("hartonomous")
except PackageNotFoundError:  # running from a checkout without an install
    __version__ = "0.0.0+checkout"
