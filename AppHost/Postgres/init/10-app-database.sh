#!/usr/bin/env bash
# The container's first start (docker-entrypoint-initdb.d): the same roles and database the local server gets from
# run-postgres.sh.
set -euo pipefail
vars=(-v db="$APP_DATABASE" -v app_role="$APP_ROLE" -v app_pw="$APP_PASSWORD" -v owner_role="$OWNER_ROLE" -v owner_pw="$OWNER_PASSWORD")
psql -X -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname postgres "${vars[@]}" -f /docker-entrypoint-initdb.d/roles.psql
psql -X -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$APP_DATABASE" "${vars[@]}" -f /docker-entrypoint-initdb.d/database.psql
