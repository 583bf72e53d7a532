# Two commands a newcomer needs: `make run` and `make test`. Everything else is here for developers.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
STAMP := $(VENV)/.installed
IMAGE ?= telegram-consulting-assistant

.PHONY: install run test test-sqlite test-postgres lint format chat serve build bench clean messages bench-memory

$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip
	$(PIP) install --quiet -e '.[dev]'
	@touch $(STAMP)

install: $(STAMP) .env  ## virtualenv + dependencies + .env with generated secrets

.env: .env.example $(STAMP)
	@$(PY) scripts/init_env.py
	@touch .env

run: install  ## migrate, load the default content, run the Telegram bot (long polling)
	$(PY) manage.py migrate --noinput
	$(PY) manage.py load_content
	$(PY) manage.py runbot

test: install  ## lint + full test suite with coverage (SQLite by default; DATABASE_URL picks another DB)
	bash scripts/test.sh

test-postgres: install
	DATABASE_URL=$${TEST_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/postgres} bash scripts/test.sh

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: install
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

chat: install  ## talk to the assistant in the terminal, no Telegram needed
	$(PY) manage.py migrate --noinput
	$(PY) manage.py load_content
	$(PY) manage.py chat

serve: install  ## the admin on http://127.0.0.1:8000/admin/
	$(PY) manage.py migrate --noinput
	$(PY) manage.py setup_roles
	$(PY) manage.py collectstatic --noinput -v0
	$(PY) manage.py runserver 127.0.0.1:8000

messages: install  ## refresh and compile translations
	$(PY) manage.py makemessages -l ru -l en --no-obsolete --ignore=.venv --ignore=staticfiles --ignore=var --ignore=test-artifacts
	$(PY) manage.py compilemessages --ignore=.venv

bench-memory: install  ## memory benchmarks on SQLite and PostgreSQL (~12 min; see docs/benchmarks.md)
	$(PY) -m bench.memory_generate --db sqlite
	$(PY) -m bench.memory_bench --db sqlite
	$(PY) -m bench.engine_overhead --db sqlite
	$(PY) -m bench.memory_generate --db postgres
	$(PY) -m bench.memory_bench --db postgres
	$(PY) -m bench.engine_overhead --db postgres

build:  ## Docker image (runs the bot by default; `docker run IMAGE serve` for the admin)
	docker build -t $(IMAGE) .

clean:
	rm -rf $(VENV) var .pytest_cache .ruff_cache .coverage htmlcov staticfiles
