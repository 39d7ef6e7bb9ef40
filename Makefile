# The two commands of the README:
#   make demo   install everything, then run the whole embedded stack with demo data
#   make test   install everything (browser, clickhouse-connect's test environment included),
#               then run the whole test suite
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo up test lint browser clickhouse-connect-suite bench bench-peer install clean

$(STAMP): pyproject.toml constraints.txt
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -c constraints.txt -e '.[test]'
	@touch $(STAMP)

install: $(STAMP)

demo: install
	$(BIN)/buzz up --demo

up: install
	$(BIN)/buzz up

browser:
	@bash scripts/install-browser.sh

# The separate environment in which clickhouse-connect's own tests run against the gateway.
clickhouse-connect-suite:
	@bash scripts/install-clickhouse-connect-suite.sh

lint: install
	$(BIN)/ruff check pipeline dashboard tests bench
	$(BIN)/ruff format --check pipeline dashboard tests bench
	$(BIN)/mypy pipeline dashboard

test: install browser clickhouse-connect-suite lint
	$(BIN)/pytest

bench-peer: install
	@bash scripts/bench-peer.sh

bench: install bench-peer
	$(BIN)/buzz bench

clean:
	rm -rf $(VENV) .venv-peer .buzz artifacts .pytest_cache .ruff_cache .mypy_cache
