#!/usr/bin/env bash
# The benchmark's peer environment (.venv-peer): the project plus quixstreams, which needs older
# pydantic releases than the project pins, hence a virtualenv of its own (bench/peer-constraints.txt).
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
VENV=.venv-peer
STAMP=$VENV/.installed
if [ -f "$STAMP" ] && [ "$STAMP" -nt bench/peer-constraints.txt ] && [ "$STAMP" -nt pyproject.toml ]; then
  exit 0
fi
test -x "$VENV/bin/python" || "$PYTHON" -m venv "$VENV"
"$VENV/bin/python" -m pip install -q --upgrade pip
"$VENV/bin/python" -m pip install -q -c bench/peer-constraints.txt -e . quixstreams
touch "$STAMP"
