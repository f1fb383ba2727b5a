"""Text helpers the T-SQL gate shares: blanking comments and strings, binding `?` markers.

Used by the syntax gate (tools.tsql_gate.parse) to match exemptions on code only, by the reference
check (tools.tsql_gate.references) to match skipped DML forms, and by the registry
(tools.tsql_gate.registry) to turn the deployer's pyodbc statements into the text SQL Server
parses. Plain string work: no sqlfluff, no sqlglot, no deployer imports.
"""

from __future__ import annotations

import re

# Comments and string literals (N'...' included, '' is an escaped quote). Bracketed identifiers
# are kept: `ADD FILEGROUP [Name] CONTAINS ...` must still match.
_COMMENT_OR_STRING = re.compile(r"--[^\n]*|/\*.*?\*/|'(?:[^']|'')*'", re.DOTALL)


def blank_comments_and_strings(sql: str) -> str:
    """The text with comments and string contents replaced by spaces; newlines and length are kept."""
    return _COMMENT_OR_STRING.sub(lambda m: re.sub(r"[^\n]", " ", m.group(0)), sql)


def bind_placeholders(sql: str) -> str:
    """pyodbc's `?` markers as the named parameters SQL Server receives (@P1, @P2, ...).

    The ODBC driver sends a parameterized statement as sp_prepexec/sp_executesql text with @P1..@Pn
    in place of the markers, so this is the text the server parses; sqlfluff parses parameters but
    not `?`. Markers inside string literals and comments are left alone.
    """
    parts, number = [], 0
    for char, code in zip(sql, blank_comments_and_strings(sql)):
        if char == "?" and code == "?":
            number += 1
            parts.append(f"@P{number}")
        else:
            parts.append(char)
    return "".join(parts)
