# campaign-ops: `make demo` and `make test` are all a fresh machine with Python 3.11+ needs.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
PYTEST_ARGS ?=

.PHONY: install browser demo dev test test-e2e test-deploy constraints test-fast lint bench clean stop-db

# the project's dependencies at the exact versions of deploy/constraints.txt, the image's: what is tested is what
# is deployed (the test tools are not pinned)
$(STAMP): pyproject.toml deploy/constraints.txt
	$(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -c deploy/constraints.txt -e ".[dev]"
	touch $(STAMP)

install: $(STAMP)

## Debian's chromium package for the browser tests (Playwright drives it; no browser is downloaded from elsewhere).
browser:
	@command -v chromium >/dev/null || (apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium)

## Start the embedded database, migrate, seed demo data and run the main job.
demo: install
	$(BIN)/campaign-ops db upgrade
	$(BIN)/campaign-ops demo seed --clients 5 --campaigns-per-client 3 --leads 5000 --seed 42
	$(BIN)/campaign-ops db verify | tail -n 1
	$(BIN)/campaign-ops run-job de_enrollment_job
	$(BIN)/campaign-ops check schema_contract
	$(BIN)/campaign-ops health-check

## The service: code server, daemon and webserver (UI on http://127.0.0.1:3000) on the database; Ctrl-C stops all.
dev: install
	$(BIN)/campaign-ops dev

## The whole suite, on the embedded PostgreSQL unless TEST_DATABASE_URL/DATABASE_URL name a server.
test: install browser
	$(BIN)/pytest -n 2 $(PYTEST_ARGS); rc=$$?; [ $$rc -eq 0 ] || echo "pytest exited $$rc (1 failures, 5 no tests collected)"; exit $$rc

## Only the end-to-end tests (real code server, daemon, webserver and chromium), screenshots in artifacts/e2e/.
test-e2e: install browser
	$(BIN)/pytest -m e2e $(PYTEST_ARGS)

## The container layout (deploy/Dockerfile built with podman; PostgreSQL, code server, daemon, webserver each in its
## own container on an internal network): a run, a killed code server, SIGTERM. Installs podman & co. with apt if missing.
test-deploy: install
	@command -v podman >/dev/null && command -v runc >/dev/null && command -v mmdebstrap >/dev/null \
		|| (apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q podman runc mmdebstrap)
	$(BIN)/pytest -p no:cacheprovider -n 0 -s -m deploy campaign_ops_tests/deploy $(PYTEST_ARGS)

## deploy/constraints.txt, the exact versions the image installs, from pyproject's dependencies (newest allowed).
constraints:
	rm -rf $(VENV)-lock && $(PY) -m venv $(VENV)-lock
	$(VENV)-lock/bin/pip install --quiet --upgrade setuptools && $(VENV)-lock/bin/pip install --quiet ".[container]"
	{ sed -n '/^#/p' deploy/constraints.txt; $(VENV)-lock/bin/pip freeze --all --exclude pip --exclude campaign-ops; } \
		> deploy/constraints.txt.new && mv deploy/constraints.txt.new deploy/constraints.txt && rm -rf $(VENV)-lock build

## De-enrollment on 1M leads: the physical limit, the project, the Dagster sweep, the due sensor (prints figures).
bench: install
	$(BIN)/python -m bench.run_bench
	$(BIN)/python -m bench.bulk_bench
	$(BIN)/python -m bench.scale_bench
	$(BIN)/python -m bench.materialization_bench
	$(BIN)/python -m bench.retention_bench
	$(BIN)/python -m bench.service_bench
	$(BIN)/python -m bench.due_sensor_bench
	$(BIN)/python -m bench.reconciliation_archival
	$(BIN)/python -m bench.checks_reports
	$(BIN)/python -m bench.ui_find_client
	$(BIN)/python -m bench.compliance_bench
	$(BIN)/python -m bench.after_run_checks_bench

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

stop-db: install
	$(BIN)/python -c "from campaign_ops.db.embedded import stop_embedded_server as s; print('stopped' if s() else 'not running')"

clean: stop-db
	rm -rf .campaign_ops .pytest_cache .ruff_cache
