# The README's two commands are `make run` and `make test`; the other targets are their steps.
PORT ?= 8000
UV := $(shell command -v uv 2>/dev/null || echo python3 -m uv)
MANAGE := $(UV) run --frozen python manage.py
# These targets are development on this machine: DEBUG on, so Django's development key is
# allowed. Production sets DJANGO_DEBUG=false and its own key (deploy/serve-prod.sh does);
# without a key the settings refuse to start.
export DJANGO_DEBUG ?= true
# Releases and JSON-LD cite this address: on this machine, the one `make run` serves.
export SITE_URL ?= http://127.0.0.1:$(PORT)

.PHONY: run test setup uv migrate data serve serve-prod backup restore check check-deploy lint format bench

run: setup migrate data serve

test: setup check check-deploy lint
	$(UV) run --frozen pytest

uv:
	@$(UV) --version >/dev/null 2>&1 || python3 -m pip install --quiet uv

setup: uv
	$(UV) sync --frozen
	$(MANAGE) compilemessages --ignore=.venv

migrate:
	$(MANAGE) migrate --noinput

# The first release too, so a fresh install has something citable (none if nothing changed).
data:
	$(MANAGE) import_registry fixtures/registry.csv --publish
	$(MANAGE) import_trackers fixtures/trackers
	$(MANAGE) build_release --if-changed

serve:
	$(MANAGE) runserver 127.0.0.1:$(PORT)

# gunicorn, a Celery worker and beat on PostgreSQL and Redis; see the README's production recipe.
serve-prod: setup
	UV="$(UV)" PORT=$(PORT) deploy/serve-prod.sh

# PostgreSQL only: a custom-format pg_dump of DATABASE_URL into backups/.
backup:
	@test -n "$$DATABASE_URL" || { echo "set DATABASE_URL to the PostgreSQL database" >&2; exit 2; }
	mkdir -p backups
	pg_dump --format=custom --no-owner --no-privileges \
		--file=backups/registry-$$(date -u +%Y%m%dT%H%M%SZ).dump "$$DATABASE_URL"
	@ls -l backups | tail -n 1

# Restore BACKUP=backups/….dump into DATABASE_URL, which must be an empty database.
restore:
	@test -n "$(BACKUP)" || { echo "set BACKUP to a file made by make backup" >&2; exit 2; }
	@test -z "$$(psql "$$DATABASE_URL" -qAtc "SELECT 1 FROM pg_tables WHERE schemaname = 'public' LIMIT 1")" \
		|| { echo "DATABASE_URL is not empty; restore only into an empty database" >&2; exit 2; }
	pg_restore --no-owner --no-privileges --exit-on-error --dbname="$$DATABASE_URL" "$(BACKUP)"
	@# pg_restore leaves the planner without statistics: searches take seconds until ANALYZE.
	psql "$$DATABASE_URL" -qc ANALYZE
	$(MANAGE) migrate --check

# Benchmarks on PostgreSQL at 1,000 and 100,000 synthetic organisations (takes ~15 minutes).
bench: setup
	$(UV) run --frozen python bench/scale.py $(BENCH_ARGS)

check:
	$(MANAGE) check
	$(MANAGE) makemigrations --check --dry-run
	$(MANAGE) spectacular --validate --fail-on-warn --file /dev/null

# Production-like environment: DEBUG off, a strong key, the https-only protections on.
check-deploy:
	DJANGO_DEBUG=false DJANGO_HTTPS=true REGISTRY_CORRECTIONS_EMAIL=corrections@registry.example \
	SITE_URL=https://registry.example \
	DJANGO_SECRET_KEY=$$(python3 -c 'import secrets; print(secrets.token_urlsafe(50))') \
	$(MANAGE) check --deploy --fail-level WARNING

lint:
	$(UV) run --frozen ruff check .
	$(UV) run --frozen ruff format --check .

format:
	$(UV) run --frozen ruff format .
	$(UV) run --frozen ruff check --fix .
