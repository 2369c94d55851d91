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
test: install
	$(PY) -m pytest -q

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy activities api cli models simulator workflows worker.py

format: install
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

clean:
	rm -rf $(VENV) .nurture .pytest_cache .ruff_cache .mypy_cache test-output
