#!/usr/bin/env bash
# Set up the separate virtual environment in which clickhouse-connect 1.7.2's own integration
# tests run against the gateway (tests/test_gateway_clickhouse_connect_suite.py): exact pins from
# scripts/clickhouse-connect-suite.txt, installed from PyPI. It lives under .venv/ so that git
# ignores it and `make clean` removes it. Idempotent: does nothing when the pins have not changed
# since the last successful install.
set -euo pipefail

cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-python3}"
VENV=".venv/clickhouse-connect-suite"
PINS="scripts/clickhouse-connect-suite.txt"
STAMP="$VENV/.installed"

if [[ -f "$STAMP" && "$STAMP" -nt "$PINS" && -x "$VENV/bin/python" ]]; then
    exit 0
fi

echo "install-clickhouse-connect-suite.sh: installing $PINS into $VENV" >&2
rm -rf "$VENV"
mkdir -p .venv
"$PYTHON" -m venv "$VENV"
"$VENV/bin/python" -m pip install -q --upgrade pip
"$VENV/bin/python" -m pip install -q --only-binary :all: -r "$PINS"
touch "$STAMP"
