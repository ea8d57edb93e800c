# Two commands on a fresh machine: `make demo` and `make test`. Everything else is a step of theirs.
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
export DJANGO_SETTINGS_MODULE ?= config.settings.local

.PHONY: install demo test lint typecheck migrations-check pytest browsers axe bench bench-webhooks bench-sandbox bench-ledger bench-reconcile bench-pages clean

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

## install: create or update .venv with every dependency (dev ones included)
install: $(STAMP)

## demo: the whole marketplace on embedded SQLite with eager tasks and the Stripe sandbox
# run_demo migrates, seeds and prints how long it took from here to "The marketplace is running".
DEMO_ADDR ?= 127.0.0.1:8000
demo: export DEMO_STARTED_AT := $(shell date +%s.%N)
demo: install
	SITE_URL=$${SITE_URL:-http://$(DEMO_ADDR)} $(PY) manage.py run_demo --addr $(DEMO_ADDR)

## browsers: Debian's Chromium for the browser tests (never `playwright install`)
browsers:
	@command -v chromium >/dev/null || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	  else echo "Install Debian's chromium (sudo apt-get install chromium) for the browser tests"; exit 1; fi; }

## axe: axe-core (npm) for the browser tests' accessibility checks, into .cache/axe once; no CDN at test time
AXE_JS := .cache/axe/node_modules/axe-core/axe.min.js
AXE_VERSION ?= 4.14.1

$(AXE_JS):
	@command -v npm >/dev/null || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq npm >/dev/null; \
	  else echo "Install npm (sudo apt-get install npm) for axe-core, the browser tests' accessibility checks"; exit 1; fi; }
	mkdir -p .cache/axe
	cd .cache/axe && { test -f package.json || npm init -y >/dev/null; } && \
	  npm install --silent --no-audit --no-fund --save-exact axe-core@$(AXE_VERSION)

axe: $(AXE_JS)

migrations-check: install
	DJANGO_SETTINGS_MODULE=config.settings.test $(PY) manage.py makemigrations --check --dry-run

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

typecheck: install
	$(VENV)/bin/mypy .

# The suite needs Postgres (row locks, ON CONFLICT) and Redis: the local ones unless told otherwise.
TEST_DATABASE_URL ?= $(or $(DATABASE_URL),postgres://postgres@127.0.0.1:5432/marketplace)
TEST_REDIS_URL ?= $(or $(REDIS_URL),redis://127.0.0.1:6379/15)

pytest: install browsers axe
	DJANGO_SETTINGS_MODULE=config.settings.test DATABASE_URL=$(TEST_DATABASE_URL) REDIS_URL=$(TEST_REDIS_URL) \
	  $(VENV)/bin/pytest $(PYTEST_ARGS)

## test: the whole suite, with makemigrations --check, ruff and mypy
test: migrations-check lint typecheck pytest

## bench: benchmarks print figures against a baseline measured in the same run
bench: bench-sandbox bench-webhooks bench-ledger bench-reconcile bench-pages

bench-sandbox: install
	$(PY) benchmarks/bench_sandbox.py

bench-webhooks: install
	$(PY) benchmarks/bench_webhooks.py
	$(PY) benchmarks/bench_webhooks.py --money

bench-ledger: install
	$(PY) benchmarks/bench_ledger.py

bench-reconcile: install
	$(PY) benchmarks/bench_reconcile.py

# Storefront pages and the listings API against a one-row view (gunicorn, its own database), then checkout.
bench-pages: install
	$(PY) benchmarks/bench_pages.py

clean:
	rm -rf $(VENV) .cache staticfiles db.sqlite3 db.sqlite3-wal db.sqlite3-shm .demo .pytest_cache .mypy_cache .ruff_cache
