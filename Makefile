# Two commands on a fresh machine: `make demo` and `make test`. Each creates .venv and
# installs what it needs first.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
DEV_STAMP := $(VENV)/.installed-dev
BENCH_STAMP := $(VENV)/.installed-bench
DYNALITE := tools/dynalite

.PHONY: install demo test lint format typecheck unit integration bench clean

$(DEV_STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(DEV_STAMP)

install: $(DEV_STAMP)

$(BENCH_STAMP): pyproject.toml $(DEV_STAMP)
	$(BIN)/python -m pip install --quiet -e '.[dev,bench]'
	touch $(BENCH_STAMP)

## Run the quickstart against an embedded moto server (or DYNAMODB_ENDPOINT_URL).
demo: $(DEV_STAMP)
	$(BIN)/python examples/quickstart.py

## Every check: lint, format, types, unit tests, integration tests.
test: lint typecheck unit integration

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

## The performance benchmark against dynalite (needs Node); a few minutes. Not part of test.
bench: $(BENCH_STAMP)
	test -d $(DYNALITE)/node_modules || (cd $(DYNALITE) && npm ci --no-audit --no-fund)
	$(BIN)/python -m benchmarks.run

clean:
	rm -rf $(VENV) .mypy_cache .pytest_cache .ruff_cache .hypothesis dist build
