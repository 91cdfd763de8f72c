# Two commands on a fresh machine: `make demo` and `make test`. Each creates .venv and
# installs what it needs first.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
DEV_STAMP := $(VENV)/.installed-dev

.PHONY: install demo test lint format typecheck unit integration clean

$(DEV_STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev,examples]'
	touch $(DEV_STAMP)

install: $(DEV_STAMP)

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

clean:
	rm -rf $(VENV) .mypy_cache .pytest_cache .ruff_cache .hypothesis dist build
