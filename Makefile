# The README's commands live here so the README cannot drift from what runs.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# Where `make run` keeps its database, broker folder and files (settings read the same variable).
BAZGASHT_VAR_DIR ?= var
# `make run PORT=8001 MAIL_PORT=1026` moves the web server, the local mailbox and the links in emails.
PORT ?= 8000
MAIL_PORT ?= 1025
PUBLIC_URL ?= http://127.0.0.1:$(PORT)
export BAZGASHT_VAR_DIR

.PHONY: run test lint audit format install demo clean messages

## run: set up everything and start web, worker, scheduler and a local mailbox (Ctrl-C stops all)
run: $(STAMP)
	@mkdir -p $(BAZGASHT_VAR_DIR)
	@echo "Database: $(BAZGASHT_VAR_DIR)/bazgasht.sqlite3 (migrating)"
	@DEBUG=true $(BIN)/python manage.py migrate --no-input --verbosity 0
	@DEBUG=true PUBLIC_URL=$(PUBLIC_URL) $(BIN)/python manage.py setup_demo
	@DEBUG=true PUBLIC_URL=$(PUBLIC_URL) WEB_PORT=$(PORT) MAIL_PORT=$(MAIL_PORT) \
		EMAIL_HOST=127.0.0.1 EMAIL_PORT=$(MAIL_PORT) SEND_SWEEP_SECONDS=5 DJANGO_RUNSERVER_HIDE_WARNING=true \
		PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/honcho --procfile Procfile.dev start

## test: install what the tests need and run them
test: $(STAMP)
	@mkdir -p $(BAZGASHT_VAR_DIR)
	bash .ci/ensure-chromium
	$(BIN)/python -m pytest $(PYTEST_ARGS)

## lint: ruff (lint + format check) and mypy
lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	DEBUG=true $(BIN)/mypy

## audit: pip-audit over the installed dependencies (needs PyPI's JSON API; says so when it cannot reach it)
audit: $(STAMP)
	$(BIN)/python .ci/audit.py

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

## messages: collect the customer pages' texts into locale/fa and compile them (needs GNU gettext)
messages: $(STAMP)
	DEBUG=true $(BIN)/python manage.py makemessages -l fa --no-location --ignore='.venv/*' --ignore='var/*' --ignore='bench/*' --ignore='tests/*'
	DEBUG=true $(BIN)/python manage.py compilemessages --ignore='.venv/*'

install: $(STAMP)

$(STAMP): pyproject.toml
	@test -n "$(PYTHON)" || { echo "Python 3.11+ is needed (python3.11 or python3 on PATH)"; exit 1; }
	$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11+ is needed, found " + sys.version)'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@$(BIN)/python -c 'import weasyprint' 2>/dev/null || { echo "WeasyPrint needs Pango: apt-get install libpango-1.0-0 libpangoft2-1.0-0 (Debian/Ubuntu) or brew install pango (macOS)"; exit 1; }
	touch $(STAMP)

clean:
	rm -rf $(VENV) var
