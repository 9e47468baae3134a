# The two commands a newcomer needs: `make run` and `make test`.
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
PYTEST_ARGS ?=
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: run test lint format bench browser install migrate messages ci worker clean backup restore otp

$(VENV)/.installed: pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev,embedded]'
	touch $@

install: $(VENV)/.installed

# Debian's Chromium drives the browser tests (a test tool's own browser download cannot work here).
browser:
	@command -v chromium >/dev/null || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-noto-cjk >/dev/null; \
	  else sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-noto-cjk >/dev/null; fi; }

# Development commands run with DEBUG on unless the environment says otherwise (production sets DEBUG=0).
DEV := DEBUG=$${DEBUG:-1}

# Schema changes and grants are the schema owner's (DATABASE_OWNER_URL, or the embedded server's superuser);
# the web server and the workers run as the runtime role of DATABASE_URL, which owns nothing (SECURITY.md).
OWNER := DATABASE_AS_OWNER=1

migrate: install
	$(DEV) $(OWNER) $(PY) manage.py migrate --noinput
	$(DEV) $(OWNER) $(PY) manage.py grant_runtime_role

# Without DATABASE_URL this uses the embedded PostgreSQL under var/; without REDIS_URL Celery runs in-process.
# The demo data, the web server and the worker use the runtime role.
run: install migrate
	$(DEV) $(PY) manage.py seed_demo
	@echo ""
	@echo "  Portal: http://$(HOST):$(PORT)/   (API docs: http://$(HOST):$(PORT)/api/docs/)"
	@echo ""
	@if [ -n "$$REDIS_URL" ]; then \
	  DEBUG=$${DEBUG:-1} $(VENV)/bin/celery -A portal worker --beat --loglevel=warning --concurrency=2 & \
	  trap 'kill %1 2>/dev/null' EXIT; \
	  DEBUG=$${DEBUG:-1} $(PY) manage.py runserver $(HOST):$(PORT); \
	else \
	  DEBUG=$${DEBUG:-1} $(PY) manage.py runserver $(HOST):$(PORT); \
	fi

# The demo's bureau and official logins ask for an authenticator code: this prints the current ones.
otp: install
	@$(DEV) $(PY) manage.py demo_otp

worker: install
	$(DEV) $(VENV)/bin/celery -A portal worker --beat --loglevel=info

test: install browser
	$(VENV)/bin/pytest $(PYTEST_ARGS)

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(DEV) $(PY) manage.py makemigrations --check --dry-run

format: install
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

# Rebuild the zh_Hans catalogues after changing translatable strings (English msgids).
messages: install
	$(DEV) $(PY) manage.py makemessages -l zh_Hans --ignore=.venv --ignore=var --ignore=tests --ignore=benchmarks
	$(DEV) $(PY) manage.py compilemessages -l zh_Hans --ignore=.venv

bench: install
	$(PY) benchmarks/run_all.py

# `make backup` writes var/backups/portal-<time>.dump (or FILE=...); `make restore FILE=...` puts it back.
backup: install
	$(DEV) $(PY) manage.py backup_db $(if $(FILE),--file $(FILE),)

restore: install
	$(DEV) $(OWNER) $(PY) manage.py restore_db --file $(FILE)

ci:
	bash .ci/run

clean:
	rm -rf $(VENV) var/staticfiles
