# Two commands on a fresh machine: `make demo` and `make test`. Each creates .venv and
# installs what it needs first.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
DEV_STAMP := $(VENV)/.installed-dev
BENCH_STAMP := $(VENV)/.installed-bench
DYNALITE := tools/dynalite

.PHONY: install demo test lint format typecheck unit integration package-check bench clean

$(DEV_STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev,examples]'
	touch $(DEV_STAMP)

install: $(DEV_STAMP)

$(BENCH_STAMP): pyproject.toml $(DEV_STAMP)
	$(BIN)/python -m pip install --quiet -e '.[dev,examples,bench]'
	touch $(BENCH_STAMP)

## Run the quickstart against an embedded moto server (or DYNAMODB_ENDPOINT_URL).
demo: $(DEV_STAMP)
	$(BIN)/python examples/quickstart.py

## Every check: lint, format, types, unit tests, integration tests, the built package.
test: lint typecheck unit integration package-check

lint: $(DEV_STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(DEV_STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

typecheck: $(DEV_STAMP)
	$(BIN)/mypy

unit: $(DEV_STAMP)
	$(BIN)/pytest tests

integration: $(DEV_STAMP)
	$(BIN)/pytest integration-tests

## Build sdist and wheel, install the wheel alone into a clean venv, import the public API.
PACKAGE_DIR := build/package-check
package-check: $(DEV_STAMP)
	rm -rf $(PACKAGE_DIR) && mkdir -p $(PACKAGE_DIR)
	$(BIN)/python -m build --outdir $(PACKAGE_DIR)/dist . > $(PACKAGE_DIR)/build.log 2>&1 \
		|| (cat $(PACKAGE_DIR)/build.log; exit 1)
	$(BIN)/python tools/check_dist.py $(PACKAGE_DIR)/dist
	$(BIN)/python -m venv $(PACKAGE_DIR)/venv
	$(PACKAGE_DIR)/venv/bin/python -m pip install --quiet $(PACKAGE_DIR)/dist/*.whl
	$(PACKAGE_DIR)/venv/bin/python tools/smoke_installed.py

## The performance benchmark against dynalite (needs Node); a few minutes. Not part of test.
bench: $(BENCH_STAMP)
	test -d $(DYNALITE)/node_modules || (cd $(DYNALITE) && npm ci --no-audit --no-fund)
	$(BIN)/python -m benchmarks.run

clean:
	rm -rf $(VENV) .mypy_cache .pytest_cache .ruff_cache .hypothesis dist build
