# Kefu — two commands matter: `make serve` and `make test`.
PY ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
export KEFU_DATA_DIR ?= $(CURDIR)/var
PG_URL ?= postgres://postgres@127.0.0.1:5432/kefu
REDIS_URL ?= redis://127.0.0.1:6379/15

.PHONY: install install-dev serve test lint-then-sqlite test-sqlite test-postgres lint typecheck bench bench-soak services browser loadgen messages lock clean demo

$(BIN)/python:
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

# The rule guard's compiled modules (setup.py, mypyc): an edit to one of them builds again.
GUARD_SOURCES := $(addprefix kefu/compliance/,textview.py sentences.py prescan.py hits.py model.py scanner.py _fastview.c)

$(VENV)/.base-installed: requirements/base.txt pyproject.toml setup.py $(GUARD_SOURCES) | $(BIN)/python
	$(BIN)/pip install -q -r requirements/base.txt
	$(BIN)/pip install -q --no-deps -e .
	touch $@

$(VENV)/.dev-installed: requirements/dev.txt $(VENV)/.base-installed
	$(BIN)/pip install -q -r requirements/dev.txt
	touch $@

install: $(VENV)/.base-installed

install-dev: $(VENV)/.dev-installed

# Embedded defaults: SQLite (WAL), in-process channel layer, SQLite-backed Celery broker.
serve: install
	@mkdir -p $(KEFU_DATA_DIR)
	$(BIN)/kefu migrate
	$(BIN)/kefu demo load
	$(BIN)/kefu run --host 127.0.0.1 --port 8000

demo: install
	$(BIN)/kefu migrate
	$(BIN)/kefu demo load

# PostgreSQL and Redis are expected on the machine; start them when they are down, never skip.
services:
	@pg_isready -q -h 127.0.0.1 -p 5432 || (pg_ctlcluster --skip-systemctl-redirect $$(ls /etc/postgresql) main start && sleep 2)
	@pg_isready -q -h 127.0.0.1 -p 5432
	@redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1 || (mkdir -p /var/lib/redis /var/log/redis && redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no --dir /var/lib/redis --logfile /var/log/redis/ci.log && sleep 1)
	@redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null

# Debian's Chromium for the browser tests (no browser downloads exist here), with a CJK font so
# Chinese pages and screenshots render (a Chromium installed without it shows empty boxes).
browser:
	@(test -x /usr/bin/chromium && test -d /usr/share/fonts/opentype/noto) || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-noto-cjk >/dev/null)

# Debian's wrk, the bench's C load generator (bench/wrk_sender.py, decisions §82): on the
# 2-core machine a Python sender's CPU is taken from the server it measures.
loadgen:
	@test -x /usr/bin/wrk || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null)

lint: install-dev
	$(BIN)/ruff check kefu tests bench
	$(BIN)/ruff format --check kefu tests bench
	$(BIN)/mypy kefu
	$(BIN)/lint-imports

# The two suites run side by side, one per core, each printing when it ends (decisions §56).
# Lint runs first in the SQLite suite's lane, beside the PostgreSQL suite, the longer of the two
# (decisions §93): on a fresh clone mypy has no cache and took ~40 s to minutes before either
# suite started. A lint failure still fails `make test`.
test: install-dev services browser loadgen
	@echo "running lint then the SQLite suite, beside the PostgreSQL suite; each prints when it ends"
	@$(MAKE) --no-print-directory -j2 --output-sync=target lint-then-sqlite test-postgres

lint-then-sqlite: install-dev
	@$(MAKE) --no-print-directory lint
	@$(MAKE) --no-print-directory test-sqlite

test-sqlite: install-dev
	@echo "== SQLite suite =="
	$(BIN)/python -m pytest

# A data directory of its own, so it can run beside the SQLite suite.
test-postgres: install-dev services
	@echo "== PostgreSQL + Redis suite =="
	KEFU_DATA_DIR=$(KEFU_DATA_DIR)/postgres KEFU_DATABASE_URL=$(PG_URL) KEFU_REDIS_URL=$(REDIS_URL) $(BIN)/python -m pytest

# `make bench BENCH="push --backends sqlite --quick"`: one bench, one backend, small sizes.
bench: install-dev services loadgen
	$(BIN)/python -m bench $(BENCH)

# The intake soak alone (bench/soak.py): it starts and restarts a PostgreSQL and a Redis of
# its own, never the shared ones. `make bench-soak SOAK="--backends sqlite --quick"`.
bench-soak: install-dev
	$(BIN)/python -m bench soak $(SOAK)

messages: install-dev
	cd kefu && ../$(BIN)/django-admin compilemessages --ignore=.venv

lock:
	rm -rf /tmp/kefu-lock && $(PY) -m venv /tmp/kefu-lock
	/tmp/kefu-lock/bin/pip install -q -r requirements/base.in -r requirements/dev.in
	@echo "review /tmp/kefu-lock/bin/pip freeze and update requirements/*.txt"

clean:
	rm -rf $(VENV) var build *.egg-info kefu/compliance/*.so kefu/compliance/_compiled.json
