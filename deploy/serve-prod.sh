#!/usr/bin/env bash
# The production recipe on this machine: PostgreSQL and Redis on loopback, gunicorn with
# WEB_CONCURRENCY workers serving pages and static files (whitenoise), one Celery worker and
# exactly one beat. Ctrl-C stops every process this script started.
set -euo pipefail
cd "$(dirname "$0")/.."

UV=${UV:-uv}
PORT=${PORT:-8000}
export WEB_CONCURRENCY=${WEB_CONCURRENCY:-4}
CELERY_CONCURRENCY=${CELERY_CONCURRENCY:-2}
export DATABASE_URL=${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/registry_prod}
export REDIS_URL=${REDIS_URL:-redis://127.0.0.1:6379/0}
export CELERY_BROKER_URL=${CELERY_BROKER_URL:-redis://127.0.0.1:6379/1}
export DJANGO_DEBUG=false
export DJANGO_STATIC_MANIFEST=true
# Sessions last as long as the key: a fresh key per run is enough on one machine.
export DJANGO_SECRET_KEY=${DJANGO_SECRET_KEY:-$(python3 -c 'import secrets; print(secrets.token_urlsafe(50))')}
# The gunicorn processes below are reached only through the proxy in front of this machine
# (they bind loopback): one proxy appends to X-Forwarded-For, and it connects from loopback.
export NUM_PROXIES=${NUM_PROXIES:-1}
export TRUSTED_PROXY_ADDRESSES=${TRUSTED_PROXY_ADDRESSES:-127.0.0.1,::1}
run_dir=$(mktemp -d -t registry-serve-prod.XXXXXX)
manage() { "$UV" run --frozen python manage.py "$@"; }

pids=()
stop() {
    trap - INT TERM EXIT
    echo "serve-prod: stopping ${pids[*]:-nothing}"
    for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
    for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
    rm -rf "$run_dir"
}
trap stop INT TERM EXIT

# PostgreSQL: create the database (UTF-8, C.UTF-8 collation) when it does not exist yet.
database=${DATABASE_URL##*/}
database=${database%%\?*}
server=${DATABASE_URL%/*}
if [[ -z $(psql "$server/postgres" -qAtc "SELECT 1 FROM pg_database WHERE datname = '$database'") ]]; then
    psql "$server/postgres" -v ON_ERROR_STOP=1 -qc "CREATE DATABASE \"$database\" ENCODING 'UTF8' \
        LC_COLLATE 'C.UTF-8' LC_CTYPE 'C.UTF-8' TEMPLATE template0"
    echo "serve-prod: created database $database"
fi

# Redis: use the one at REDIS_URL, or start a private one on loopback without persistence.
if ! redis-cli -u "$REDIS_URL" ping >/dev/null 2>&1; then
    redis_port=$(python3 -c "import sys, urllib.parse as u; print(u.urlsplit(sys.argv[1]).port or 6379)" "$REDIS_URL")
    redis-server --bind 127.0.0.1 --port "$redis_port" --save "" --appendonly no \
        --dir "$run_dir" --daemonize no >"$run_dir/redis.log" 2>&1 &
    pids+=($!)
    for _ in $(seq 50); do redis-cli -u "$REDIS_URL" ping >/dev/null 2>&1 && break; sleep 0.1; done
fi

manage migrate --noinput
manage import_registry fixtures/closures.csv --publish
manage import_trackers fixtures/trackers
manage collectstatic --noinput --verbosity 0

"$UV" run --frozen gunicorn registry.wsgi:application \
    --bind "127.0.0.1:$PORT" --workers "$WEB_CONCURRENCY" \
    --access-logfile - --graceful-timeout 10 &
pids+=($!)
"$UV" run --frozen celery -A registry worker --loglevel INFO \
    --concurrency "$CELERY_CONCURRENCY" --hostname "worker@%h" &
pids+=($!)
# One beat only: two would enqueue every scheduled task twice.
"$UV" run --frozen celery -A registry beat --loglevel INFO \
    --schedule "$run_dir/celerybeat-schedule" &
pids+=($!)

echo "serve-prod: http://127.0.0.1:$PORT/en/organisations/ (Ctrl-C stops)"
wait -n "${pids[@]}"
