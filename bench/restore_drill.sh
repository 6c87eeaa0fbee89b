#!/usr/bin/env bash
# Backup and restore drill: dump DATABASE_URL as `make backup` does, restore it into a fresh
# empty database as `make restore` does, and compare deterministic dumps of both byte for byte.
# The drill database is dropped afterwards; the source database is only read.
set -euo pipefail
cd "$(dirname "$0")/.."

UV=${UV:-uv}
source_url=${DATABASE_URL:?set DATABASE_URL to the PostgreSQL database to drill}
[[ $source_url == postgres* ]] || { echo "restore drill needs PostgreSQL" >&2; exit 2; }
server=${source_url%/*}
drill_db="registry_restore_drill_$$"
drill_url="$server/$drill_db"
work=$(mktemp -d -t restore-drill.XXXXXX)
psql_admin() { psql "$server/postgres" -v ON_ERROR_STOP=1 -qAt "$@"; }
cleanup() { psql_admin -c "DROP DATABASE IF EXISTS \"$drill_db\"" || true; rm -rf "$work"; }
trap cleanup EXIT
# Every table the registry curates, with the history of each change and the accounts.
apps=(closures auth.user auth.group)
snapshot() {
    DATABASE_URL=$1 "$UV" run --frozen python manage.py dumpdata "${apps[@]}" \
        --indent 1 --output "$2" --verbosity 0
}
now() { date +%s.%N; }

start=$(now)
pg_dump --format=custom --no-owner --no-privileges --file="$work/registry.dump" "$source_url"
dumped=$(now)
psql_admin -c "CREATE DATABASE \"$drill_db\" ENCODING 'UTF8' LC_COLLATE 'C.UTF-8' \
    LC_CTYPE 'C.UTF-8' TEMPLATE template0"
pg_restore --no-owner --no-privileges --exit-on-error --dbname="$drill_url" "$work/registry.dump"
psql "$drill_url" -qc ANALYZE
restored=$(now)

snapshot "$source_url" "$work/before.json"
snapshot "$drill_url" "$work/after.json"
# Migrations must agree too: a restore that needs migrating is not a faithful copy.
DATABASE_URL=$drill_url "$UV" run --frozen python manage.py migrate --check >/dev/null

count() { psql "$1" -qAtc "SELECT count(*) FROM closures_$2"; }
printf 'source database:   %s\n' "${source_url##*/}"
printf 'dump:              %s bytes in %.2f s\n' "$(stat -c %s "$work/registry.dump")" \
    "$(echo "$dumped - $start" | bc)"
printf 'restore:           into empty %s in %.2f s\n' "$drill_db" "$(echo "$restored - $dumped" | bc)"
for table in organisation event source citation alias; do
    printf '%-18s %s -> %s rows\n' "$table:" "$(count "$source_url" "$table")" \
        "$(count "$drill_url" "$table")"
done
printf 'dumpdata before:   %s\n' "$(sha256sum "$work/before.json" | cut -c1-64)"
printf 'dumpdata after:    %s\n' "$(sha256sum "$work/after.json" | cut -c1-64)"
if cmp -s "$work/before.json" "$work/after.json"; then
    echo "result:            IDENTICAL ($(wc -l <"$work/before.json") lines of ${apps[*]})"
else
    echo "result:            DIFFERENT"
    diff "$work/before.json" "$work/after.json" | head -20
    exit 1
fi

# The public exports, fetched through the project's own URLs, must not change by a byte.
exports=(events.csv events.json events.ndjson organisations.csv sources.csv)
fetch_exports() {
    DATABASE_URL=$1 API_ANONYMOUS_RATE=off "$UV" run --frozen python manage.py shell -c "
from django.test import Client
client = Client()
for name in '${exports[*]}'.split():
    body = b''.join(client.get('/api/v1/export/' + name).streaming_content)
    open('$2.' + name, 'wb').write(body)
" >/dev/null
}
fetch_exports "$source_url" "$work/before"
fetch_exports "$drill_url" "$work/after"
for name in "${exports[@]}"; do
    if cmp -s "$work/before.$name" "$work/after.$name"; then
        printf 'export %-18s IDENTICAL (%s bytes, sha256 %s)\n' "$name" \
            "$(stat -c %s "$work/before.$name")" "$(sha256sum "$work/before.$name" | cut -c1-16)"
    else
        printf 'export %-18s DIFFERENT\n' "$name"
        exit 1
    fi
done
