# The two commands a new user runs are `make demo` and `make test`; both install what they need.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: install test unit integration e2e lint format demo up down status bench replay-dlq reconcile requirements clean

install: $(STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet "pip<26.3"
	$(PY) -m pip install --quiet -e ".[dev]"
	touch $(STAMP)

test: install
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	$(PY) -m mypy layers/core/linkstar
	$(PY) -m pytest -n 2 --dist loadgroup

unit: install
	$(PY) -m pytest tests/unit

integration: install
	$(PY) -m pytest tests/integration

e2e: install
	$(PY) -m pytest tests/e2e

lint: install
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	$(PY) -m mypy layers/core/linkstar

format: install
	$(PY) -m ruff format .
	$(PY) -m ruff check --fix .

up: install
	$(PY) -m infra.local up

down:
	@if [ -x $(PY) ]; then $(PY) -m infra.local $(if $(STATE),--state-dir $(STATE)) down; fi

status: install
	$(PY) -m infra.local status

demo: install
	$(PY) -m scripts.demo $(if $(KEEP),--keep) $(DEMO_ARGS)

bench: install
	$(PY) -m bench.webhook_path
	$(PY) -m bench.marketplaces
	$(PY) -m bench.outreach
	$(PY) -m bench.billing
	$(PY) -m bench.kpis
	$(PY) -m bench.funnel_costs

replay-dlq: install
	$(PY) -m infra.local replay-dlq

# Recount a month's usage against the counters on the running local stack: make reconcile MONTH=2026-11
reconcile: install
	$(PY) -m infra.local reconcile $(if $(MONTH),--month $(MONTH)) $(if $(TENANT),--tenant $(TENANT))

requirements:
	$(PY) -m scripts.sync_requirements

clean: down
	rm -rf $(VENV) .local .aws-sam .pytest_cache .ruff_cache .mypy_cache
