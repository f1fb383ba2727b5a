#!/usr/bin/env bash
# The README's test command (and what .ci/run calls): set up, then run the whole suite.
# The tests start their own throw-away PostgreSQL instance; the live SQL Server tests run when
# HARTONOMOUS_MSSQL_DSN is set and are reported as skipped otherwise.
set -uo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh || exit 2
.venv/bin/python -m pytest "$@"
status=$?
if [ "$status" -eq 5 ]; then
    echo "error: pytest collected no tests; that is a failure, not a pass" >&2
    exit 1
fi
exit "$status"
