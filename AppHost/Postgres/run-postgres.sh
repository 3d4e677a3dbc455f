#!/usr/bin/env bash
# Runs PostgreSQL from the installed server binaries as an Aspire executable resource (no container engine needed).
# Environment (set by the AppHost): PGDATA_ROOT, PGPORT, POSTGRES_PASSWORD, POSTGRES_DB, APP_ROLE, APP_PASSWORD,
# OWNER_ROLE, OWNER_PASSWORD, PG_BIN (optional). Data survives restarts in PGDATA_ROOT; the passwords are (re)applied
# on every start, so a new one never locks you out.
set -euo pipefail

bin=${PG_BIN:-$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)}
[ -x "$bin/postgres" ] || { echo "No PostgreSQL server binaries found (apt-get install postgresql)." >&2; exit 1; }

as_postgres=()
if [ "$(id -u)" = 0 ]; then
  # PostgreSQL refuses to run as root. setpriv replaces itself: no extra parent process is left.
  as_postgres=(setpriv --reuid=postgres --regid=postgres --init-groups)
  mkdir -p "$PGDATA_ROOT"
  chown postgres:postgres "$PGDATA_ROOT"
fi
data="$PGDATA_ROOT/data"
socket="$PGDATA_ROOT"

if [ ! -s "$data/PG_VERSION" ]; then
  echo "Creating a PostgreSQL cluster in $data"
  "${as_postgres[@]}" "$bin/initdb" -D "$data" -U postgres --auth-local=trust --auth-host=scram-sha-256 \
    --encoding=UTF8 --locale=C.UTF-8 >/dev/null
fi

"${as_postgres[@]}" "$bin/postgres" -D "$data" -p "$PGPORT" -k "$socket" -c listen_addresses=localhost &
pg=$!
trap 'kill -INT "$pg" 2>/dev/null' TERM INT # a fast shutdown, whatever signal the orchestrator sends

for _ in $(seq 1 100); do
  "$bin/pg_isready" -q -h "$socket" -p "$PGPORT" -U postgres && break
  sleep 0.2
done
psql=("${as_postgres[@]}" "$bin/psql" -X -q -v ON_ERROR_STOP=1 -h "$socket" -p "$PGPORT" -U postgres)
"${psql[@]}" -d postgres -v pw="$POSTGRES_PASSWORD" <<'SQL'
ALTER ROLE postgres PASSWORD :'pw';
SQL
vars=(-v db="$POSTGRES_DB" -v app_role="$APP_ROLE" -v app_pw="$APP_PASSWORD" -v owner_role="$OWNER_ROLE" -v owner_pw="$OWNER_PASSWORD")
"${psql[@]}" -d postgres "${vars[@]}" <"$(dirname "$0")/init/roles.psql"
"${psql[@]}" -d "$POSTGRES_DB" "${vars[@]}" <"$(dirname "$0")/init/database.psql"
echo "PostgreSQL is ready on localhost:$PGPORT, database $POSTGRES_DB"

wait "$pg" || true
wait "$pg" 2>/dev/null || true
