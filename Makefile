# laborwatch — the commands a newcomer needs. `make help` lists them.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.DEFAULT_GOAL := help
.PHONY: help install run stack test test-unit faults bench deploy-check lint format migrate clean pictures screenshots bench-pipeline bench-cases bench-monitoring bench-insight bench-sharing bench-console

help: ## List the targets
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-18s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	@touch $(STAMP)

VENDOR := services/console/static/vendor
NPM_STAMP := node_modules/.installed

# The console's browser files come from the npm registry (package-lock.json), never a CDN.
$(NPM_STAMP): package.json package-lock.json
	npm ci --no-audit --no-fund
	@touch $(NPM_STAMP)

$(VENDOR)/.copied: $(NPM_STAMP)
	mkdir -p $(VENDOR)
	cp node_modules/htmx.org/dist/htmx.min.js node_modules/echarts/dist/echarts.min.js $(VENDOR)/
	@touch $(VENDOR)/.copied

install: $(STAMP) $(VENDOR)/.copied ## Make .venv and install laborwatch with its dev tools and the console's browser files

run: $(STAMP) $(VENDOR)/.copied ## Serve the whole system on http://127.0.0.1:8000 (SQLite + in-process bus)
	$(BIN)/laborwatch run

stack: $(STAMP) ## Production mode here: PostgreSQL + Kafka-protocol broker + a process per service and the console
	$(BIN)/python scripts/stack.py

migrate: $(STAMP) ## Upgrade the database named by LABORWATCH_DATABASE_URL
	$(BIN)/laborwatch migrate

test: $(STAMP) $(VENDOR)/.copied ## Run every test (needs PostgreSQL on 127.0.0.1:5432; starts its own broker)
	$(BIN)/python -m pytest

test-unit: $(STAMP) ## Run the unit tests only (no database, no broker)
	$(BIN)/python -m pytest tests/unit

faults: $(STAMP) ## Only the fault tests (also in make test): broker cut, kill -9, PostgreSQL restart, fuzzing
	$(BIN)/python -m pytest tests/faults

# A fresh, migrated PostgreSQL database for one benchmark (LABORWATCH_STACK_PG names the server).
PGBENCH = $$($(BIN)/python -m bench.pg $(1) 2>/dev/null)

bench: bench-pipeline bench-cases bench-monitoring bench-insight bench-sharing bench-console ## Every benchmark below, one after another (about 70 minutes); results in var/bench/
	@echo "Every benchmark ran; the numbers are above and in var/bench/."

bench-pipeline: $(STAMP) ## The pipeline in both modes with wrk: rates, latencies, deadlines, floors
	@command -v wrk >/dev/null || { echo "bench needs wrk (Debian: apt-get install wrk)"; exit 1; }
	$(BIN)/python bench/run.py

bench-cases: $(STAMP) ## Cases: 10,000 open cases, GET /v1/cases and form.docx p50/p99 beside their floors (SQLite, PostgreSQL)
	$(BIN)/python bench/cases.py
	$(BIN)/python bench/cases.py --database-url $(call PGBENCH,laborwatch_bench_cases)

bench-monitoring: $(STAMP) ## Monitoring: one upload of 10,000 rows validated, stored and evaluated, its alerts on to grading (stack, embedded)
	$(BIN)/python bench/monitoring_upload.py
	$(BIN)/python bench/monitoring_upload.py --embedded

bench-insight: $(STAMP) ## Insight: five years of a city (1M reports), statistics and the .docx; its lag under the sustained load
	@command -v wrk >/dev/null || { echo "bench needs wrk (Debian: apt-get install wrk)"; exit 1; }
	$(BIN)/python -m bench.insight --scale 1 --database-url $(call PGBENCH,laborwatch_bench_insight_history)
	$(BIN)/python -m bench.insight_lag

bench-sharing: $(STAMP) ## Sharing: bodies' end-to-end p99 with 20 subscriptions (one dead) against none, both modes
	$(BIN)/python bench/sharing.py --repeat 3

bench-console: $(STAMP) $(VENDOR)/.copied ## Console: 100,000 incidents, each page's server time beside its API calls, the dashboard drawn in chromium (SQLite, PostgreSQL)
	$(BIN)/python bench/console.py
	$(BIN)/python bench/console.py --database-url $(call PGBENCH,laborwatch_bench_console)

deploy-check: $(STAMP) ## Check deploy/ (Dockerfile, compose, Kubernetes manifests) offline
	$(BIN)/python -m pytest -q tests/unit/test_deploy_files.py

pictures: $(STAMP) ## Render the form and a briefing to PDF (LibreOffice) and keep a PNG of each in docs/
	$(BIN)/python -m scripts.pictures_form
	$(BIN)/python -m scripts.pictures_briefing

lint: $(STAMP) ## Ruff (lint and format check) and mypy --strict
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy .

format: $(STAMP) ## Format the code and fix what ruff can
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

screenshots: $(STAMP) $(VENDOR)/.copied ## Drive the console's flows in chromium and write docs/console/*.png
	$(BIN)/python scripts/screenshots.py

clean: ## Remove the virtualenv, caches and the embedded database
	rm -rf $(VENV) node_modules $(VENDOR) var .pytest_cache .mypy_cache .ruff_cache .hypothesis *.egg-info
