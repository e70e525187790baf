# IAZE — the two commands a newcomer needs: `make run` and `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
HOST ?= 127.0.0.1
PORT ?= 8000
TEST_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/iaze
# Empty: the mongodb lane starts (and stops) a SecantusDB of its own; or a mongodb:// URL of a test server.
TEST_MONGO_URL ?=
# The mongodb lane's pytest-xdist workers, each with a SecantusDB of its own (0: one process, one server).
MONGO_TEST_WORKERS ?= 2
# The sqlite and postgresql lanes' pytest-xdist workers (0: one process). The real-process tests (servers,
# crashes, backups) wait on other processes as much as they compute, so two workers on two cores halve a lane.
TEST_WORKERS ?= 2
PYTEST_ARGS ?=
# -n N --dist loadfile: a file's tests stay together on one worker (its module fixtures, its order).
xdist = $(if $(filter-out 0,$(1)),-n $(1) --dist loadfile)

.PHONY: run run-mongo test test-fast test-sqlite test-postgresql test-mongodb test-mongodb-compat venv migrate \
	check-migrations bench deploy lint fmt lock audit

# Running needs requirements.lock only; tests, lint and benchmarks add requirements-dev.lock. The locks pin
# every package, transitive ones included; requirements*.txt hold the top-level pins they are made from
# (`make lock`; docs/operations.md#dependencies).
$(VENV)/.run-installed: requirements.lock
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install --disable-pip-version-check -q -r requirements.lock
	touch $@

$(VENV)/.installed: requirements.lock requirements-dev.lock
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install --disable-pip-version-check -q -r requirements-dev.lock
	touch $@ $(VENV)/.run-installed

venv: $(VENV)/.installed

run: $(VENV)/.run-installed
	HOST=$(HOST) PORT=$(PORT) PY=$(PY) bash scripts/run.sh

# `make run` on the MongoDB profile: a local SecantusDB (data under DATA_DIR/mongo) starts and stops with it
# (SecantusDB is a development tool, in requirements-dev.txt).
run-mongo: venv
	HOST=$(HOST) PORT=$(PORT) PY=$(PY) bash scripts/run-mongo.sh

# Every lane runs; a lane whose server is missing is reported as skipped with its reason.
test: venv
	@status=0; \
	$(MAKE) --no-print-directory test-sqlite || status=1; \
	$(MAKE) --no-print-directory test-postgresql || status=1; \
	$(MAKE) --no-print-directory test-mongodb || status=1; \
	$(MAKE) --no-print-directory test-mongodb-compat || status=1; \
	exit $$status

test-sqlite: venv
	@echo "=== lane: sqlite (embedded database, browser tests) ==="
	env -u DATABASE_URL -u MONGO_URL IAZE_TEST_LANE=sqlite DATA_DIR=$${TMPDIR:-/tmp}/iaze-test-data \
	  $(PY) -m pytest $(call xdist,$(TEST_WORKERS)) $(PYTEST_ARGS)

test-postgresql: venv
	@echo "=== lane: postgresql ($(TEST_DATABASE_URL)) ==="
	env -u MONGO_URL IAZE_TEST_LANE=postgresql DATABASE_URL=$(TEST_DATABASE_URL) \
	  DATA_DIR=$${TMPDIR:-/tmp}/iaze-test-data $(PY) -m pytest -m "not browser" $(call xdist,$(TEST_WORKERS)) \
	  $(PYTEST_ARGS)

# The whole suite on a real MongoDB wire-protocol server (SecantusDB, started by the root conftest).
test-mongodb: venv
	@echo "=== lane: mongodb ($(or $(TEST_MONGO_URL),a SecantusDB started for this run)) ==="
	env -u DATABASE_URL -u MONGO_URL $(if $(TEST_MONGO_URL),MONGO_URL="$(TEST_MONGO_URL)") IAZE_TEST_LANE=mongodb \
	  DATA_DIR=$${TMPDIR:-/tmp}/iaze-test-data $(PY) -m pytest -m "not browser" \
	  $(if $(TEST_MONGO_URL),,$(call xdist,$(MONGO_TEST_WORKERS))) $(PYTEST_ARGS)

# The MongoDB compatibility checks that need no server (mongomock behind the real backend).
test-mongodb-compat: venv
	@echo "=== lane: mongodb-compat (no server) ==="
	env -u DATABASE_URL IAZE_TEST_LANE=mongodb-compat MONGO_URL="mongodb://127.0.0.1:1/?serverSelectionTimeoutMS=200" \
	  DATA_DIR=$${TMPDIR:-/tmp}/iaze-test-data $(PY) -m pytest tests/mongo $(PYTEST_ARGS)

# The quick loop while coding: the sqlite lane without the browser and the real-process tests.
test-fast: venv
	env -u DATABASE_URL -u MONGO_URL IAZE_TEST_LANE=sqlite DATA_DIR=$${TMPDIR:-/tmp}/iaze-test-data \
	  $(PY) -m pytest -m "not browser and not slow" $(PYTEST_ARGS)

# Style, layering and types: ruff (lint + format check), import-linter's contracts, mypy on the core.
lint: venv
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/lint-imports
	$(VENV)/bin/mypy

fmt: venv
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

# The lock files, from requirements*.txt, by pip-tools in a throwaway virtualenv of its own (pip-tools wants
# pip versions of its own; the project's virtualenv is left as it is). Existing pins are kept
# when they still fit: LOCK_ARGS=--upgrade (or --upgrade-package NAME) moves them.
LOCK_TOOLS ?= $${TMPDIR:-/tmp}/iaze-lock-tools
PIP_TOOLS := pip-tools==7.6.2
LOCK_ARGS ?=
PIP_COMPILE = CUSTOM_COMPILE_COMMAND="make lock" $(LOCK_TOOLS)/bin/pip-compile --quiet --strip-extras \
	--no-emit-index-url --no-emit-find-links $(LOCK_ARGS)
lock:
	test -x $(LOCK_TOOLS)/bin/pip-compile || { $(PYTHON) -m venv $(LOCK_TOOLS) && \
	  $(LOCK_TOOLS)/bin/pip install --disable-pip-version-check -q $(PIP_TOOLS); }
	$(PIP_COMPILE) --output-file requirements.lock requirements.txt
	$(PIP_COMPILE) --constraint requirements.lock --output-file requirements-dev.lock requirements-dev.txt

# Known vulnerabilities of every locked package (pip-audit; scripts/audit_deps.py says when it fails).
audit: venv
	$(PY) scripts/audit_deps.py requirements-dev.lock

# Benchmarks against real gunicorn servers on SQLite and PostgreSQL (bench/README.md).
# BENCH_QUICK=1 for a smoke run; BENCH_PROFILES=sqlite when no PostgreSQL is at hand.
bench: venv
	$(PY) -m bench

# A deploy updates code, never data: snapshot → check-migrations → backup → migrate → restart → /healthz → verify.
deploy: $(VENV)/.run-installed
	PY=$(PY) HOST=$(HOST) PORT=$(PORT) bash scripts/deploy.sh

# Fails when a migration would drop or shrink protected data (unless it declares reviewed_data_loss).
check-migrations: $(VENV)/.run-installed
	$(PY) manage.py check_migrations
