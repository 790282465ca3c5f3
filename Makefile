# Two commands on a fresh machine: `make run` and `make test`. See README.md.
SHELL := /bin/bash
.DEFAULT_GOAL := help

# Django 6 needs Python >= 3.12. Try each candidate by running it: a pyenv shim on PATH may exist
# and still fail, so only an interpreter that actually starts and is new enough is taken.
PYTHON ?= $(shell for c in python3.14 python3.13 python3.12 python3 \
	$$(ls -d $$(pyenv root 2>/dev/null || echo $$HOME/.pyenv)/versions/3.1[2-9]*/bin/python 2>/dev/null | sort -rV); do \
	"$$c" -c 'import sys; sys.exit(sys.version_info < (3, 12))' >/dev/null 2>&1 && { command -v "$$c" || echo "$$c"; } && break; done)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: help run test lint format worker bench messages messages-extract install clean check-python
.PHONY: stack

help:
	@echo "make run     - set up everything and serve the demo campaign on http://127.0.0.1:8000"
	@echo "make test    - set up everything and run the whole test suite"
	@echo "make lint    - ruff, ruff format --check, mypy, makemigrations --check"
	@echo "make worker  - start a Celery worker (needs CELERY_BROKER_URL)"
	@echo "make bench   - benchmarks against PostgreSQL and Redis (writes docs/benchmarks.md)"

check-python:
	@if [ -z "$(PYTHON)" ]; then \
	  echo "No Python 3.12 or newer found. Install Python 3.12+ (e.g. 'pyenv install 3.12' or your"; \
	  echo "system's python3.12 package), or run: make PYTHON=/path/to/python3.12 ..."; exit 1; fi

$(STAMP): requirements.txt requirements-dev.txt | check-python
	@echo "Using $(PYTHON) ($$($(PYTHON) --version))"
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt
	@touch $(STAMP)

install: $(STAMP)

messages: install
	@if [ ! -d locale ]; then true; \
	elif command -v msgfmt >/dev/null; then DEBUG=1 $(BIN)/python manage.py compilemessages --ignore=.venv -v0; \
	else echo "gettext (msgfmt) is not installed: pages stay in English. apt-get install gettext"; fi

# After adding or changing visible strings: extract them into the French catalog, translate every
# empty entry in locale/fr/LC_MESSAGES/django.po (and clear any "fuzzy" flag), then `make messages`.
# tests/campaign/test_i18n.py fails while any French entry is empty or fuzzy.
messages-extract: install
	TESTING=1 $(BIN)/python manage.py makemessages -l fr --no-obsolete --add-location=file \
	  --ignore=.venv --ignore=tests --ignore=bench --ignore=staticfiles --ignore=test-artifacts \
	  --ignore=docs
	@echo "Now translate the empty (and fuzzy) entries; list them with:"
	@echo "  $(BIN)/pytest tests/campaign/test_i18n.py -k every_french_entry"

run: install messages
	DEBUG=1 $(BIN)/python manage.py migrate --noinput
	DEBUG=1 $(BIN)/python manage.py seed_demo
	@echo "Serving on http://127.0.0.1:8000 (demo gateway: no money moves). Admin: make superuser first:"
	@echo "  DEBUG=1 $(BIN)/python manage.py createsuperuser"
	DEBUG=1 $(BIN)/python manage.py runserver 127.0.0.1:8000

test: install messages
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	TESTING=1 $(BIN)/mypy .
	TESTING=1 $(BIN)/python manage.py makemigrations --check --dry-run

format: install
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

worker: install
	$(BIN)/celery -A config worker -B --loglevel=info

bench: install messages
	$(BIN)/python -m bench.run

clean:
	rm -rf $(VENV) staticfiles .pytest_cache .mypy_cache .ruff_cache

# The production shape on this machine (docs/deploy.md): nginx with deploy/nginx/fund.conf on
# https://127.0.0.1:8443 (self-signed), gunicorn with gunicorn.conf.py, a worker and beat from
# deploy/systemd/, the local PostgreSQL and Redis; the demo gateway unless STRIPE_SECRET_KEY is set.
stack: install
	$(BIN)/python -m deploy.stack
