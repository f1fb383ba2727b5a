"""Graph: order catalog objects for deployment (second step of the pipeline).

Objects are ordered by stage, then topologically by their declared requirements inside a
stage, ties broken by name so the order is the same on every run. A requirement on an unknown
object, on an object of a later stage, or a cycle is refused with a message naming both ends.
"""

from __future__ import annotations

from graphlib import CycleError, TopologicalSorter

from deployer.source.catalog import DbObject
from deployer.source.stages import Stage


class GraphError(Exception):
    """The requirements between objects cannot be ordered."""


def _describe(obj: DbObject) -> str:
    return f"{obj.name} ({obj.source_label}, stage {obj.stage.label})"


def order(objects: list[DbObject]) -> list[DbObject]:
    by_name = {o.name: o for o in objects}
    for obj in objects:
        for required in obj.requires:
            if required == obj.name:
                raise GraphError(f"{_describe(obj)} requires itself")
            target = by_name.get(required)
            if target is None:
                raise GraphError(f"{_describe(obj)} requires {required}, which is not in the package")
            if target.stage > obj.stage:
                raise GraphError(
                    f"{_describe(obj)} requires {_describe(target)}, which is deployed in a later stage"
                )

    ordered: list[DbObject] = []
    for stage in Stage:
        members = sorted((o for o in objects if o.stage == stage), key=lambda o: o.name.lower())
        names = {o.name for o in members}
        sorter = TopologicalSorter({o.name: [r for r in o.requires if r in names] for o in members})
        try:
            sorter.prepare()
        except CycleError as exc:
            cycle = exc.args[1]
            path = " -> ".join(_describe(by_name[n]) if i == 0 else n for i, n in enumerate(cycle))
            raise GraphError(f"requirement cycle: {path}") from None
        while sorter.is_active():
            ready = sorted(sorter.get_ready(), key=str.lower)
            ordered.extend(by_name[n] for n in ready)
            sorter.done(*ready)
    return ordered


def dependents(objects: list[DbObject], names: set[str]) -> set[str]:
    """Every object that requires one of `names`, directly or through others."""
    found: set[str] = set()
    frontier = set(names)
    while frontier:
        frontier = {o.name for o in objects if o.name not in found and set(o.requires) & (frontier | found)}
        frontier -= names
        found |= frontier
    return found
