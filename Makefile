# idnode: `make run` starts a node on SQLite with demo data; `make test` runs the whole suite.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

export IDNODE_DATABASE_URL ?= sqlite+aiosqlite:///./var/idnode.db
export IDNODE_ADMIN_TOKEN ?= demo-admin-token
export IDNODE_CREDENTIAL_KEY ?= demo-credential-key
export IDNODE_TOPLEVEL_BOOTSTRAP_TOKEN ?= demo-bootstrap-token
export IDNODE_TOPLEVEL_OPERATOR_TOKEN ?= demo-operator-token
# `IDNODE_CRYPTO_PROFILE=gm make run`: SM2 keys and signatures, SM3 digests, SM4 at rest.
export IDNODE_CRYPTO_PROFILE ?= standard

.PHONY: run test lint format install clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

run: $(STAMP)
	$(BIN)/idnode migrate
	$(BIN)/idnode demo
	@echo "admin token:            $$IDNODE_ADMIN_TOKEN"
	@echo "node:                   http://127.0.0.1:8000  (API docs: /docs)"
	@echo "top-level node (sim.):  http://127.0.0.1:8100  (sync: idnode sync status)"
	@echo "top-level operator:     $$IDNODE_TOPLEVEL_OPERATOR_TOKEN"
	$(BIN)/idnode toplevel --host 127.0.0.1 --port 8100 --db ./var/toplevel.db & \
	trap 'kill $$! 2>/dev/null; wait' EXIT INT TERM; \
	IDNODE_TOPLEVEL_URL=http://127.0.0.1:8100 $(BIN)/idnode serve --host 127.0.0.1 --port 8000

test: $(STAMP)
	$(BIN)/ruff format --check .
	$(BIN)/ruff check .
	$(BIN)/lint-imports --no-logo
	$(BIN)/pytest

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

clean:
	rm -rf $(VENV) var .pytest_cache

# Load testing: `make loadtest` starts a throwaway node on SQLite, runs each load-test tool for a
# few seconds against it (reports in var/loadtest/) and stops it. Locust is an extra of its own.
.PHONY: loadtest
LOADTEST_STAMP := $(VENV)/.installed-loadtest

$(LOADTEST_STAMP): pyproject.toml | $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[test,locust]'
	touch $(LOADTEST_STAMP)

loadtest: $(STAMP) $(LOADTEST_STAMP)
	$(BIN)/python -m loadtests smoke --out var/loadtest
