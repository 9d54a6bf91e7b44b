# acuhead: two commands on a fresh machine.
#   make run   install the app (runtime dependencies only) into .venv, create/upgrade the SQLite
#              database with a demo clinic, serve on 127.0.0.1:$(PORT) (PORT or ACUHEAD_PORT)
#   make test  install the dev tools too (incl. Debian chromium) and run the whole suite

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
RUNTIME := $(VENV)/.runtime
STAMP := $(VENV)/.installed
export ACUHEAD_DATA_DIR ?= ./var
PG_TEST_URL ?= postgresql+psycopg://postgres@127.0.0.1:5432/test
PORT ?= $(or $(ACUHEAD_PORT),8000)
HOST ?= $(or $(ACUHEAD_HOST),127.0.0.1)

.PHONY: run test lint typecheck check bench fuzz screenshots clean browser-deps system-deps postgres

# The app and its runtime dependencies (what `make run` needs).
$(RUNTIME): pyproject.toml | system-deps
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e .
	touch $(RUNTIME)

# Plus the dev tools: pytest, mypy, ruff, Playwright's driver, import-linter ... (`make test`).
$(STAMP): $(RUNTIME) pyproject.toml
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

run: $(RUNTIME)
	$(BIN)/acuhead db upgrade
	$(BIN)/acuhead demo --if-empty --patients 40 --days 240
	@echo "acuhead on http://$(HOST):$(PORT)  (demo logins printed above; API docs at /docs)"
	ACUHEAD_BASE_URL=$${ACUHEAD_BASE_URL:-http://$(HOST):$(PORT)} \
	  $(BIN)/acuhead serve --host $(HOST) --port $(PORT)

# The system libraries WeasyPrint (PDF letters and reports) loads: Pango, HarfBuzz's subsetter
# and a font. Installed with apt when missing and running as root; otherwise the command to run.
WEASYPRINT_DEBS := libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 fonts-dejavu-core
system-deps:
	@missing=""; \
	for lib in libpango-1.0.so.0 libpangoft2-1.0.so.0 libharfbuzz-subset.so.0; do \
	  /sbin/ldconfig -p 2>/dev/null | grep -q "$$lib" || missing="$$missing $$lib"; \
	done; \
	[ -e /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf ] || missing="$$missing fonts"; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = "0" ] && command -v apt-get >/dev/null; then \
	    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(WEASYPRINT_DEBS)) >/dev/null; \
	  else echo "WeasyPrint needs:$$missing; run 'sudo apt-get install $(WEASYPRINT_DEBS)'" >&2; exit 1; fi; \
	fi

# Headless Chromium from Debian for the browser tests (never a browser download).
browser-deps:
	@if [ ! -x /usr/bin/chromium ]; then \
	  if [ "$$(id -u)" = "0" ]; then \
	    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium) >/dev/null; \
	  else echo "chromium missing: run 'sudo apt-get install chromium'" >&2; exit 1; fi; \
	fi

# The suite needs a real PostgreSQL on 127.0.0.1:5432; start the machine's cluster if it is down.
postgres:
	@if ! pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; then \
	  if command -v pg_ctlcluster >/dev/null; then \
	    pg_ctlcluster --skip-systemctl-redirect $$(ls /etc/postgresql) main start; sleep 2; fi; \
	fi
	@pg_isready -h 127.0.0.1 -p 5432 || (echo "PostgreSQL is not reachable on 127.0.0.1:5432" >&2; exit 1)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP)
	$(BIN)/mypy

test: $(STAMP) browser-deps postgres
	ACUHEAD_TEST_PG_URL=$(PG_TEST_URL) $(BIN)/pytest -n 2 --dist worksteal -p no:cacheprovider
	$(BIN)/lint-imports --no-cache --no-logo
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

bench: $(STAMP) postgres
	@for f in benchmarks/*.py; do echo "== $$f"; $(BIN)/python $$f || exit 1; done

fuzz: $(STAMP) postgres
	ACUHEAD_FUZZ_EXAMPLES=500 $(BIN)/pytest -p no:cacheprovider tests -k fuzz

clean:
	rm -rf $(VENV) var artifacts .pytest_cache .mypy_cache .ruff_cache

# PNGs of every page at 360 px and 1280 px under artifacts/screenshots/ (Debian chromium).
screenshots: $(STAMP) browser-deps
	$(BIN)/python -m tests.browser.screenshots --out artifacts/screenshots
