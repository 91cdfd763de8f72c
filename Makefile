# Two commands on a fresh machine: `make demo` and `make test`. Each creates .venv and
# installs what it needs first.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
DEV_STAMP := $(VENV)/.installed-dev
BENCH_STAMP := $(VENV)/.installed-bench
DYNALITE_DIR := tools/dynalite
DYNALITE_STAMP := $(DYNALITE_DIR)/node_modules/.installed

.PHONY: browser check install demo test lint format typecheck unit integration integration-moto \
	integration-dynalite integration-botocore integration-env dynalite package-check mutate mutate-changed \
	mutate-hand \
	bench fuzz docs docs-build clean

$(DEV_STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev,examples,docs]'
	touch $(DEV_STAMP)

install: $(DEV_STAMP)

$(DYNALITE_STAMP): $(DYNALITE_DIR)/package.json $(DYNALITE_DIR)/package-lock.json
	cd $(DYNALITE_DIR) && npm ci --no-audit --no-fund
	touch $@

## Install dynalite (npm) where node is present; where it is not, say that it is skipped.
dynalite:
	@if command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1; then \
		$(MAKE) --no-print-directory $(DYNALITE_STAMP); \
	else \
		echo "SKIPPED: dynalite backend: node/npm not found on PATH;" \
			"its integration run below reports every test as skipped."; \
	fi

$(BENCH_STAMP): pyproject.toml $(DEV_STAMP)
	$(BIN)/python -m pip install --quiet -e '.[dev,examples,docs,bench]'
	touch $(BENCH_STAMP)

## Run the quickstart against an embedded moto server (or DYNAMODB_ENDPOINT_URL, from the
## environment or .env).
demo: $(DEV_STAMP)
	$(BIN)/python examples/quickstart.py

## The quick loop while editing: lint, format, types and the unit tests (no servers).
check: lint typecheck unit

## Every check: lint, format, types, unit tests, the docs site, integration tests, the package.
test: lint typecheck browser unit docs-build integration package-check

## Headless Chromium for the docs test's screenshots (Debian's package), installed where it
## is missing and apt-get can be used; where it cannot, that test says it is skipped.
browser:
	@if command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1; then \
		true; \
	elif command -v apt-get >/dev/null 2>&1 && [ "$$(id -u)" = 0 ]; then \
		(apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium \
			>/dev/null) || echo "SKIPPED: chromium could not be installed; no screenshots"; \
	else \
		echo "SKIPPED: chromium is not installed (apt-get install chromium); no screenshots"; \
	fi

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

## The integration suite once per backend, each run with its own counts; then once more
## with every request through the aioboto3 client.
integration: integration-moto integration-dynalite integration-botocore

integration-moto: $(DEV_STAMP)
	@echo "=== integration tests on moto ==="
	$(BIN)/pytest integration-tests --backend moto

integration-dynalite: $(DEV_STAMP) dynalite
	@echo "=== integration tests on dynalite ==="
	$(BIN)/pytest integration-tests --backend dynalite

## The integration suite against DYNAMODB_ENDPOINT_URL (environment or .env), e.g.
## docker-compose's server, DynamoDB Local or AWS. Not part of test.
integration-env: $(DEV_STAMP)
	@echo "=== integration tests on $${DYNAMODB_ENDPOINT_URL:-the endpoint in .env} ==="
	$(BIN)/pytest integration-tests --backend env

## DynamoDBConfig.fast_path=False: the whole suite again, every request through aioboto3,
## so both paths give the same results, errors and faults (the programs of the README and
## the examples build their own configuration and keep the default path).
integration-botocore: $(DEV_STAMP)
	@echo "=== integration tests on moto, fast_path off (every request through aioboto3) ==="
	$(BIN)/pytest integration-tests --backend moto --fast-path off

## Build the documentation site (mkdocs --strict: a broken link or reference fails). Offline:
## the theme's web fonts are off and no plugin fetches anything.
docs-build: $(DEV_STAMP)
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict --quiet --site-dir build/site

## Serve the documentation on http://127.0.0.1:8001, rebuilt on every change.
docs: $(DEV_STAMP)
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs serve --dev-addr 127.0.0.1:8001

## Build sdist and wheel, install the wheel alone into a clean venv, import the public API,
## and run the README's first program as pasted with that venv's python.
PACKAGE_DIR := build/package-check
package-check: $(DEV_STAMP)
	rm -rf $(PACKAGE_DIR) && mkdir -p $(PACKAGE_DIR)
	$(BIN)/python -m build --outdir $(PACKAGE_DIR)/dist . > $(PACKAGE_DIR)/build.log 2>&1 \
		|| (cat $(PACKAGE_DIR)/build.log; exit 1)
	$(BIN)/python tools/check_dist.py $(PACKAGE_DIR)/dist
	$(BIN)/python -m venv $(PACKAGE_DIR)/venv
	$(PACKAGE_DIR)/venv/bin/python -m pip install --quiet $(PACKAGE_DIR)/dist/*.whl
	$(PACKAGE_DIR)/venv/bin/python tools/smoke_installed.py
	$(BIN)/python tools/first_program.py $(PACKAGE_DIR)/venv/bin/python

## Mutation testing with mutmut over the core modules ([tool.mutmut] in pyproject.toml says
## which, and why mutmut), each mutant against the unit then integration tests (moto) that
## call its function. Incremental: results are kept in mutants/, only changed code is
## re-tested. Prints killed / survived / allowlisted / timeout per module and writes
## mutation-score.md; then the hand-written mutations mutmut cannot make (tools/mutate.py).
## MUTATE_JOBS workers (default 2), under nice.
mutate: $(DEV_STAMP)
	@nice -n 15 $(BIN)/python tools/mutation.py run; status=$$?; \
		$(MAKE) --no-print-directory mutate-hand && exit $$status

## Only the functions this branch changed relative to main (MUTATE_BASE=... for another base).
mutate-changed: $(DEV_STAMP)
	nice -n 15 $(BIN)/python tools/mutation.py changed $${MUTATE_BASE:-main}

## Break src/ in known ways (tools/mutate.py), one at a time; each must fail a test.
mutate-hand: $(DEV_STAMP)
	nice -n 15 $(BIN)/python tools/mutate.py

## The performance benchmark against dynalite (needs Node); a few minutes. Not part of test.
## BENCH_ARGS passes options, e.g. BENCH_ARGS="--scale 0.3" on a busy machine.
bench: $(BENCH_STAMP) $(DYNALITE_STAMP)
	$(BIN)/python -m benchmarks.run $(BENCH_ARGS)

## The property tests at length (a fresh seed each run): the round trip and the one stored
## form (update = save, conditions = Python, actions = Python), on dynalite, or on moto where
## node is missing. `make test` runs them bounded, with a fixed seed.
FUZZ_EXAMPLES ?= 2000
fuzz: $(DEV_STAMP) dynalite
	@backend=$$(command -v node >/dev/null 2>&1 && echo dynalite || echo moto); \
	echo "=== property tests, $(FUZZ_EXAMPLES) examples each on $$backend ==="; \
	LVRGD_FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) $(BIN)/pytest integration-tests/test_round_trip_property.py \
		integration-tests/test_stored_form_property.py \
		--backend $$backend -p no:logging -p no:cacheprovider --hypothesis-show-statistics

clean:
	rm -rf $(VENV) $(DYNALITE_DIR)/node_modules .mypy_cache .pytest_cache .ruff_cache .hypothesis dist build
