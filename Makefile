# nurture — the two commands of the README, and a few more.
# Each target creates or refreshes .venv first: nothing to install by hand.

PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: install dev test lint format clean

$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -e '.[dev]'
	@touch $(STAMP)

install: $(STAMP)

## make dev: Temporal dev server, worker, API, ESP simulator and a demo cohort on this machine.
dev: install
	$(VENV)/bin/nurture dev

## make test: the whole suite (unit, workflow, integration; PostgreSQL too when NURTURE_TEST_POSTGRES_URL is set).
test: install browser
	$(PY) -m pytest -q

## make browser: Debian's chromium for the dashboard's browser tests, installed with apt where
## this runs as root; elsewhere those tests skip. Nothing downloads a browser build of its own.
.PHONY: browser
browser:
	@[ -x /usr/bin/chromium ] \
	  || { command -v apt-get >/dev/null 2>&1 && [ "$$(id -u)" = 0 ] \
	       && export DEBIAN_FRONTEND=noninteractive \
	       && { timeout 900 apt-get install -y -q chromium >/dev/null 2>&1 \
	            || { timeout 300 apt-get update -q >/dev/null 2>&1 \
	                 && timeout 900 apt-get install -y -q chromium >/dev/null 2>&1; }; } \
	       && echo "installed chromium for the browser tests"; } \
	  || echo "chromium not installed: the dashboard's browser tests will skip"

## make bench: not part of `make test`. Starts its own dev server, simulator, API and workers and
## prints one JSON document (bench/README.md); BENCH_ARGS="--quick" for a smoke run.
.PHONY: bench
bench: install
	@$(PY) -m bench.run $(BENCH_ARGS)

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy activities api cli models simulator nurture_testing workflows worker.py

format: install
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

clean:
	rm -rf $(VENV) .nurture .pytest_cache .ruff_cache .mypy_cache test-output
