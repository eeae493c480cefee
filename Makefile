# The two commands a newcomer needs: `make run` and `make test` (see README.md).
SHELL := /bin/bash
.DEFAULT_GOAL := help

UV_VERSION := 0.13.9
TOOLS := .tools
UV := $(TOOLS)/bin/uv
MANAGE := $(UV) run --frozen python manage.py
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

# The test suite's services: this machine's PostgreSQL and Redis (database 15, flushed by tests).
TEST_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/privacyportal
TEST_REDIS_URL ?= redis://127.0.0.1:6379/15

# Benchmarks run on their own database (created if missing) and Redis database 9.
BENCH_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/privacyportal_bench
BENCH_REDIS_URL ?= redis://127.0.0.1:6379/9
# Where every figure goes, as a JSON list (bench/results.py); emptied by make bench.
BENCH_RESULTS ?= bench/results.json
# Every benchmark of the project, in the order make bench runs them: management commands
# that each append their figures to $(BENCH_RESULTS). One a line, so that a new benchmark
# (the internal API's bench_api, say) is one added line.
BENCH_COMMANDS := \
	bench_consents \
	bench_api \
	bench_pages \
	bench_admin_list \
	bench_access_copy \
	bench_notices \
	bench_purge
# The benchmarks are an app of their own (bench/), installed only by its settings.
BENCH_ENV = DJANGO_SETTINGS_MODULE=bench.settings \
	DATABASE_URL=$(BENCH_DATABASE_URL) REDIS_URL=$(BENCH_REDIS_URL) LOG_LEVEL=WARNING \
	BENCH_RESULTS=$(abspath $(BENCH_RESULTS))

.PHONY: help install run test lint messages sms system-packages bench

help:
	@echo "make run    start the portal on embedded defaults (SQLite, tasks in-process, SMS in var/sms/)"
	@echo "make test   run the whole suite on PostgreSQL, Redis, a Celery worker and Chromium"
	@echo "make sms    show the latest text messages the portal wrote to var/sms/"
	@echo "make bench  print the benchmarks' figures (PostgreSQL and Redis, like make test)"

# uv in a small virtualenv of its own, pinned, so nothing is installed system-wide.
$(UV):
	python3 -m venv $(TOOLS)
	$(TOOLS)/bin/pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)

.venv/.synced: pyproject.toml uv.lock | $(UV)
	$(UV) sync --frozen
	@touch $@

install: .venv/.synced

run: install
	$(MANAGE) migrate --noinput
	$(MANAGE) collectstatic --noinput -v0
	$(MANAGE) demo_data
	@echo
	@echo "  Portal:     http://127.0.0.1:8000/   (staff desk: http://127.0.0.1:8000/admin/)"
	@echo "  SMS codes:  written as JSON files to var/sms/ (run 'make sms' in another terminal)"
	@echo
	$(MANAGE) runserver 127.0.0.1:8000

sms:
	@ls -1 var/sms/*.json 2>/dev/null | tail -n 5 | xargs -r -n1 sh -c 'cat "$$0"; echo'

# Browser tests need Debian's Chromium, and a CJK font so that zh-hans pages and their
# screenshots show characters, not empty boxes; the translation check needs xgettext (gettext).
system-packages:
	@missing=""; \
	command -v chromium >/dev/null || missing="$$missing chromium"; \
	[ -e /usr/share/fonts/truetype/wqy/wqy-microhei.ttc ] || missing="$$missing fonts-wqy-microhei"; \
	command -v xgettext >/dev/null || missing="$$missing gettext"; \
	if [ -n "$$missing" ]; then \
	  echo "Installing Debian packages:$$missing"; \
	  $(SUDO) apt-get update -qq && $(SUDO) DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing; \
	fi

lint: install
	$(UV) run --frozen ruff check .

test: install system-packages lint
	DATABASE_URL=$(TEST_DATABASE_URL) REDIS_URL=$(TEST_REDIS_URL) $(UV) run --frozen pytest

# For developers: refresh the catalogs after changing user-facing strings, then translate.
messages: install
	$(MANAGE) makemessages -l zh_Hans --no-obsolete --no-location
	$(MANAGE) compilemessages --ignore=.venv --ignore=.tools

# A missed goal is a figure like any other (the summary counts them; exit status 0);
# a benchmark that crashes stops make bench with its error.
bench: install
	@psql "$(dir $(BENCH_DATABASE_URL))postgres" -qtAc "SELECT 1 FROM pg_database WHERE datname = '$(notdir $(BENCH_DATABASE_URL))'" | grep -q 1 \
	  || psql "$(dir $(BENCH_DATABASE_URL))postgres" -qc "CREATE DATABASE $(notdir $(BENCH_DATABASE_URL))"
	$(BENCH_ENV) $(MANAGE) migrate --noinput -v0
	@rm -f $(BENCH_RESULTS)
	@set -e; for command in $(BENCH_COMMANDS); do \
	  echo "== $$command"; $(BENCH_ENV) $(MANAGE) $$command; \
	done
	@$(BENCH_ENV) $(MANAGE) bench_summary
