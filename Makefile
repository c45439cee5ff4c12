# leadflow: `make demo` to try it, `make test` to check it. See README.md.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
SRC    := src tests bench migrations

.PHONY: install demo serve test lint format typecheck migrations-check pytest bench soak chromium clean

$(STAMP): pyproject.toml constraints.txt
	@$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "leadflow needs Python 3.11+"'
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet --constraint constraints.txt --editable '.[dev]'
	@touch $(STAMP)

# The console's front-end packages (htmx, SortableJS) come from npm into web/node_modules (gitignored) and are
# served under /app/static/vendor/. Re-run only when web/package*.json change.
WEB_STAMP := web/node_modules/.installed
$(WEB_STAMP): web/package.json web/package-lock.json
	@command -v npm >/dev/null || { echo "FATAL: npm is needed for the console's front-end packages (apt-get install npm)" >&2; exit 1; }
	npm ci --prefix web --no-audit --no-fund --loglevel=error
	@touch $(WEB_STAMP)

install: $(STAMP) $(WEB_STAMP)  ## create .venv, install leadflow and the console's npm packages (idempotent)

demo: install  ## migrate the embedded database, load the demo tenants and serve on :8000
	LEADFLOW_DEFAULT_TENANT=$${LEADFLOW_DEFAULT_TENANT:-demo} $(BIN)/leadflow demo

serve: install
	$(BIN)/leadflow serve

lint: install  ## ruff (lint + format check) and the import contracts
	$(BIN)/ruff check $(SRC)
	$(BIN)/ruff format --check $(SRC)
	$(BIN)/lint-imports

format: install
	$(BIN)/ruff check --fix $(SRC)
	$(BIN)/ruff format $(SRC)

typecheck: install
	$(BIN)/mypy src

migrations-check: install  ## the migrations build the schema and match the models (alembic check)
	@tmp=$$(mktemp -d) && trap 'rm -rf $$tmp' EXIT && \
	LEADFLOW_DATABASE_URL="sqlite+aiosqlite:///$$tmp/check.db" $(BIN)/alembic upgrade head && \
	LEADFLOW_DATABASE_URL="sqlite+aiosqlite:///$$tmp/check.db" $(BIN)/alembic check

# One worker per core (pytest-xdist), each with its own SQLite file and PostgreSQL database; a test file stays on
# one worker so its module-scoped servers and browser start once. PYTEST_WORKERS=0 runs in this process.
PYTEST_WORKERS ?= auto
pytest: install
	$(BIN)/pytest -n $(PYTEST_WORKERS) --dist loadfile $(PYTEST_ARGS)

test: lint typecheck migrations-check pytest  ## the whole suite, as CI runs it

# Playwright drives Debian's Chromium: its own browser download is not reachable from these machines.
chromium:  ## Debian's Chromium for the browser test (tests/browser), installed with apt-get when missing
	@test -x /usr/bin/chromium || { \
	  echo "installing Debian's chromium for the browser test (apt-get)"; \
	  log=$$(mktemp); sudo=$$(test "$$(id -u)" = 0 || echo sudo); \
	  { $$sudo apt-get update -qq && $$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; } \
	    >"$$log" 2>&1 || { tail -n 20 "$$log" >&2; echo "FATAL: could not install chromium with apt-get" >&2; exit 1; }; \
	  test -x /usr/bin/chromium || { echo "FATAL: apt-get installed no /usr/bin/chromium" >&2; exit 1; }; \
	}

bench: install  ## performance figures (printed, not asserted)
	@for script in bench/[!_]*.py; do echo "== $$script"; $(BIN)/python $$script || exit 1; done

# Longer runs of the randomised specifications than `make test` affords (the two-tenant state machine).
soak: install  ## the stateful model with 200 examples of up to 50 steps, on SQLite and PostgreSQL
	LEADFLOW_STATEFUL_EXAMPLES=200 LEADFLOW_STATEFUL_STEPS=50 $(BIN)/pytest -p no:logging tests/test_stateful_model.py

clean:
	rm -rf $(VENV) var .mypy_cache .ruff_cache
