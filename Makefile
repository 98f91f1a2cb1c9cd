# Two commands for a newcomer: `make run` (the app on demo data) and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
RUN_STAMP := $(VENV)/.run-installed
DEV_STAMP := $(VENV)/.dev-installed
CHROMIUM := /usr/bin/chromium
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
PORT ?= 8501
# The tree `make bench` measures the ready frames and pages against (issue 15's baseline:
# main when session 4 started); any commit or branch of this repository
BENCH_BEFORE ?= 4d89c1b

.PHONY: run test lint typecheck unit e2e browser postgres proxy bench demo clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(RUN_STAMP): requirements.txt | $(BIN)/python
	$(BIN)/python -m pip install --quiet -r requirements.txt
	touch $@

$(DEV_STAMP): requirements.txt requirements-dev.txt | $(BIN)/python
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt
	touch $@ $(RUN_STAMP)

## run: create the virtual environment if needed, install, serve the app (demo data without config.toml)
run: $(RUN_STAMP)
	$(BIN)/streamlit run app.py --server.port $(PORT)

## test: install what tests need (dev requirements, Debian's chromium, postgresql and caddy),
## lint, type-check, run every test
test: $(DEV_STAMP) browser postgres proxy lint typecheck
	$(BIN)/python -m pytest

## lint: ruff, the import contracts between layers (pyproject.toml, [tool.importlinter]),
## and mypy over carto/, app.py, pages/ and testing/ (pyproject.toml, [tool.mypy])
lint: $(DEV_STAMP) typecheck
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports

typecheck: $(DEV_STAMP)
	$(BIN)/mypy

unit: $(DEV_STAMP) postgres proxy
	$(BIN)/python -m pytest -m "not e2e"

e2e: $(DEV_STAMP) browser postgres
	$(BIN)/python -m pytest -m e2e

## browser: Debian's chromium for the end-to-end tests (never a downloaded browser build)
browser:
	@[ -x $(CHROMIUM) ] || { $(SUDO) apt-get update -qq && $(SUDO) DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }
	@[ -x $(CHROMIUM) ] && echo "chromium: $$($(CHROMIUM) --version)"

## postgres: Debian's PostgreSQL server; the store tests start a throwaway cluster of it
## (testing/postgres.py) to run on PostgreSQL as well as SQLite
postgres:
	@ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || { $(SUDO) apt-get update -qq && $(SUDO) DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null; }
	@ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 && echo "postgresql: $$(ls -d /usr/lib/postgresql/*/ | xargs -n1 basename | sort -n | tail -1)"

## proxy: Debian's caddy, to validate the reverse proxy's files of deploy/ (tests/test_deploy_files.py)
proxy:
	@command -v caddy >/dev/null 2>&1 || { $(SUDO) apt-get update -qq && $(SUDO) DEBIAN_FRONTEND=noninteractive apt-get install -y -qq caddy >/dev/null; }
	@command -v caddy >/dev/null 2>&1 && echo "caddy: $$(caddy version | cut -d' ' -f1)"

## bench: sync cost, normalisation, pages and map payload at 10k and 100k passages, against
## the naive approach (issue 9), then the ready frames and every page's first run after a
## refresh at 1k and 100k against $(BENCH_BEFORE) (issue 15), then the load scenario (10
## sessions at 100k, one and two replicas); about 45 minutes; writes benchmarks/results/;
## not part of `make test`
bench: $(DEV_STAMP)
	$(BIN)/python -m benchmarks.run
	$(BIN)/python -m benchmarks.ready --sizes 1k,100k --pages --before-ref $(BENCH_BEFORE)
	$(BIN)/python -m benchmarks.load

## demo: rebuild the embedded demo snapshot
demo: $(RUN_STAMP)
	$(BIN)/python -m carto demo

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache data/demo.sqlite*
