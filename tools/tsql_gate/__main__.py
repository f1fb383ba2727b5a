"""`python -m tools.tsql_gate`: the T-SQL syntax gate outside pytest, with its failures and timing.

It renders the package for every variant of tools.tsql_gate.registry (after the render step,
before any server), parses each batch and the deployer's own statements with sqlfluff
(tools.tsql_gate.parse), checks the server-behaviour rules (tools.tsql_gate.rules), prints each
failure, and exits 1 if there is any. The reference check (tools.tsql_gate.references) runs in
the test suite (tests/test_tsql_gate.py).
"""

from __future__ import annotations

import time

from tools.tsql_gate.parse import check_package, parse_problems
from tools.tsql_gate.registry import RENDER_VARIANTS, render_variant
from tools.tsql_gate.rules import check_rules


def main() -> int:
    started = time.perf_counter()
    rules = {f for v in RENDER_VARIANTS for f in check_rules(render_variant(v))}
    failures = [*check_package(), *sorted(rules, key=str)]
    elapsed = time.perf_counter() - started
    for failure in failures:
        print(failure)
    print(
        f"T-SQL gate: {len(failures)} failure(s), {len(RENDER_VARIANTS)} renderings, "
        f"{parse_problems.cache_info().currsize} distinct batches parsed, {elapsed:.1f}s"
    )
    return 1 if failures else 0


if __name__ == "__main__":
    raise SystemExit(main())
