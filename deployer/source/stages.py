"""The eight deployment stages (seed 003's graph, SQL CLR replaced by in-database Python).

Every object in db/ belongs to exactly one stage; the folder it lives in says which.
The graph module orders objects by stage first, so an object may only require objects
of its own or an earlier stage.
"""

from enum import IntEnum


class Stage(IntEnum):
    PREREQUISITES = 1
    DOMAIN_TABLES = 2
    EXTERNAL_SCRIPTS = 3
    ADVANCED_TABLES = 4
    SERVICE_BROKER = 5
    BINDINGS = 6
    PROCEDURES = 7
    VERIFICATION = 8

    @property
    def title(self) -> str:
        return STAGE_TITLES[self]

    @property
    def label(self) -> str:
        return f"{int(self)} {self.title}"


STAGE_TITLES = {
    Stage.PREREQUISITES: "prerequisites",
    Stage.DOMAIN_TABLES: "domain tables",
    Stage.EXTERNAL_SCRIPTS: "external scripts",
    Stage.ADVANCED_TABLES: "advanced tables",
    Stage.SERVICE_BROKER: "service broker",
    Stage.BINDINGS: "bindings",
    Stage.PROCEDURES: "procedures",
    Stage.VERIFICATION: "verification",
}

# Folder under db/ -> stage. db/tables/advanced is listed before db/tables so the longer
# prefix wins when a path is classified.
STAGE_FOLDERS: dict[str, Stage] = {
    "prerequisites": Stage.PREREQUISITES,
    "tables/advanced": Stage.ADVANCED_TABLES,
    "tables": Stage.DOMAIN_TABLES,
    "external_scripts": Stage.EXTERNAL_SCRIPTS,
    "servicebroker": Stage.SERVICE_BROKER,
    "bindings": Stage.BINDINGS,
    "procedures": Stage.PROCEDURES,
    "verification": Stage.VERIFICATION,
}
