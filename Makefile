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

.PHONY: run test lint format install clean dns-tools browser-tools messages

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
	@echo "DNS frontend:           127.0.0.1:$${IDNODE_DNS_PORT:-5353} UDP+TCP, zone $${IDNODE_DNS_ZONE:-idis.internal.}"
	$(BIN)/idnode toplevel --host 127.0.0.1 --port 8100 --db ./var/toplevel.db & \
	trap 'kill $$! 2>/dev/null; wait' EXIT INT TERM; \
	IDNODE_TOPLEVEL_URL=http://127.0.0.1:8100 IDNODE_DNS_PORT=$${IDNODE_DNS_PORT:-5353} \
	$(BIN)/idnode serve --host 127.0.0.1 --port 8000

# Most tests wait on sockets, processes and databases: more workers than cores pays.
TEST_WORKERS ?= 4

test: $(STAMP) dns-tools browser-tools
	$(BIN)/ruff format --check .
	$(BIN)/ruff check .
	$(BIN)/lint-imports --no-logo
	$(BIN)/pytest -n $(TEST_WORKERS) --dist load

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

# The DNS tests query with dig and the DNS benchmark runs dnsperf and Unbound (Debian packages).
dns-tools:
	@command -v dig >/dev/null && command -v dnsperf >/dev/null && { command -v unbound || [ -x /usr/sbin/unbound ]; } >/dev/null || { \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && \
	  $$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq bind9-dnsutils dnsperf unbound >/dev/null; }

# The browser tests (tests/browsing.py) drive Debian's chromium through Playwright (never a
# downloaded browser) and check pages with npm's axe-core, installed under .venv/npm.
AXE_VERSION := 4.14.1
AXE := $(VENV)/npm/node_modules/axe-core/axe.min.js

# A Chinese font (Debian's fonts-wqy-microhei) so that the screenshots show the pages' text.
browser-tools: $(AXE)
	@command -v chromium >/dev/null && fc-list :lang=zh | grep -q . || { \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && \
	  $$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
	    chromium fonts-wqy-microhei >/dev/null; }

$(AXE): | $(BIN)/python
	@command -v npm >/dev/null || { \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && \
	  $$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends npm >/dev/null; }
	npm install --silent --no-save --no-audit --no-fund --prefix $(VENV)/npm axe-core@$(AXE_VERSION)

# The web pages' strings: one catalog domain per slice (node/<domain>: its .py and templates/),
# in node/web/locale/<locale>/LC_MESSAGES/<domain>.po. `make messages` extracts them and merges
# new ones into each .po (translate the zh_CN msgstr); the .po files are compiled at first use.
WEB_DOMAINS ?= web human console
WEB_LOCALES := zh_CN en

messages: $(STAMP)
	@mkdir -p var/messages
	@for domain in $(WEB_DOMAINS); do \
	  $(BIN)/pybabel -q extract -F babel.cfg --no-location --omit-header -o var/messages/$$domain.pot node/$$domain && \
	  for locale in $(WEB_LOCALES); do \
	    po=node/web/locale/$$locale/LC_MESSAGES/$$domain.po; \
	    if [ -f $$po ]; then \
	      $(BIN)/pybabel -q update --no-fuzzy-matching --ignore-obsolete --omit-header -D $$domain -l $$locale -i var/messages/$$domain.pot -d node/web/locale; \
	    else \
	      $(BIN)/pybabel -q init -D $$domain -l $$locale -i var/messages/$$domain.pot -d node/web/locale; \
	    fi; \
	  done; \
	done

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
