#!/usr/bin/env bash
# The README's main command: set up, start the local PostgreSQL engine, publish the package
# through all eight stages (verification included), switch the autonomous loop on (a pg_cron job
# runs its dispatcher every minute) and show the engine's status.
# Safe to re-run: a second run finds nothing changed and says so.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
.venv/bin/python -m deployer local up
.venv/bin/python -m deployer publish "$@"
.venv/bin/python -m deployer loop start --unless-stopped
.venv/bin/python -m deployer local status
