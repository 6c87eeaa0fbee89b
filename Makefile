# The README's two commands are `make run` and `make test`; the other targets are their steps.
PORT ?= 8000
UV := $(shell command -v uv 2>/dev/null || echo python3 -m uv)
MANAGE := $(UV) run --frozen python manage.py

.PHONY: run test setup uv migrate data serve check lint format

run: setup migrate data serve

test: setup check lint
	$(UV) run --frozen pytest

uv:
	@$(UV) --version >/dev/null 2>&1 || python3 -m pip install --quiet uv

setup: uv
	$(UV) sync --frozen
	$(MANAGE) compilemessages --ignore=.venv

migrate:
	$(MANAGE) migrate --noinput

data:
	$(MANAGE) import_registry fixtures/closures.csv --publish

serve:
	$(MANAGE) runserver 127.0.0.1:$(PORT)

check:
	$(MANAGE) check
	$(MANAGE) makemigrations --check --dry-run

lint:
	$(UV) run --frozen ruff check .
	$(UV) run --frozen ruff format --check .

format:
	$(UV) run --frozen ruff format .
	$(UV) run --frozen ruff check --fix .
