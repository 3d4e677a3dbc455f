#!/usr/bin/env bash
# The container's first start (docker-entrypoint-initdb.d): the same roles and database the local server gets from
# run-postgres.sh. On a Citus coordinator (CITUS_COORDINATOR and CITUS_WORKER_HOSTS, HOST:PORT each), the cluster comes
# first: the workers registered and sharding on, then the roles, made in the app's database, where Citus creates them
# on every node.
# The entrypoint sources a script that is not executable: the body runs in a subshell, so that its options and names
# stay out of the entrypoint's shell, and a failure still fails the container's first start.
(
  set -euo pipefail
  init=${INIT_DIR:-/docker-entrypoint-initdb.d} # sourced, $0 is the entrypoint's
  vars=(-v db="$APP_DATABASE" -v app_role="$APP_ROLE" -v app_pw="$APP_PASSWORD" -v owner_role="$OWNER_ROLE" -v owner_pw="$OWNER_PASSWORD")
  run_psql() { psql -X -q -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" "$@"; }

  roles_in=postgres
  if [ -n "${CITUS_WORKER_HOSTS:-}" ]; then
    # The workers start beside the coordinator; each answers once its own first start is done.
    for worker in $CITUS_WORKER_HOSTS; do
      for _ in $(seq 1 300); do
        pg_isready -q -h "${worker%:*}" -p "${worker##*:}" && break
        sleep 1
      done
      pg_isready -q -h "${worker%:*}" -p "${worker##*:}" || { echo "Citus worker $worker did not answer in 5 minutes." >&2; exit 1; }
    done
    run_psql --dbname "$APP_DATABASE" -c "CREATE EXTENSION IF NOT EXISTS citus"
    run_psql --dbname "$APP_DATABASE" -v db="$APP_DATABASE" -v coordinator="$CITUS_COORDINATOR" -v workers="$CITUS_WORKER_HOSTS" -f "$init/citus.psql"
    roles_in=$APP_DATABASE
  fi
  run_psql --dbname "$roles_in" "${vars[@]}" -f "$init/roles.psql"
  run_psql --dbname "$APP_DATABASE" "${vars[@]}" -f "$init/database.psql"
)
