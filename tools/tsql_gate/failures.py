"""What the T-SQL gate reports: one record per failure, of the syntax gate or the reference check.

Both checks run after the render step (deployer.source.render) and before anything reaches a
server; a failure names the object, where it is defined (a db/... file, or the deployer's
statement registry), the GO-separated batch and the line within it, so it reads like a compiler
error. The syntax gate (tools.tsql_gate.parse) reports GateFailure, the schema model and the
reference check (tools.tsql_gate.schema, tools.tsql_gate.references) report RefFailure.
"""

from __future__ import annotations

from dataclasses import dataclass

from deployer.source.render import RenderedObject


@dataclass(frozen=True)
class GateFailure:
    """A batch sqlfluff cannot parse."""

    object: str
    source: str  # db/... file, or where in the deployer the statement is defined
    batch: int
    line: int  # within the batch
    message: str

    def __str__(self) -> str:
        return f"{self.source} ({self.object}), batch {self.batch}, line {self.line}: {self.message}"


@dataclass(frozen=True)
class RefFailure:
    """A table or column the SQL names that does not resolve (or a statement that cannot be read)."""

    object: str
    source: str
    batch: int
    line: int  # within the batch
    statement: str  # the statement, shortened to one line
    name: str  # the name that did not resolve (or the statement's verb, if it did not parse)
    message: str

    def __str__(self) -> str:
        return (f"{self.source} ({self.object}), batch {self.batch}, line {self.line}: "
                f"{self.message}\n    in: {self.statement}")


def one_line(statement: str) -> str:
    """A statement shortened to one line, as RefFailure.statement holds it."""
    return " ".join(statement.split())[:200]


def reference_failure(item: RenderedObject, batch: int, line: int, statement: str, name: str,
                      message: str) -> RefFailure:
    """A RefFailure in a rendered object of the package."""
    return RefFailure(item.obj.name, item.obj.source_label, batch, line, one_line(statement), name, message)
