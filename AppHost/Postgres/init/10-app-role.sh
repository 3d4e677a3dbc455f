#!/usr/bin/env bash
# The container's first start (docker-entrypoint-initdb.d): the same app role the local server gets from run-postgres.sh.
set -euo pipefail
psql -X -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname postgres \
  -v role="$APP_ROLE" -v pw="$APP_PASSWORD" -f /docker-entrypoint-initdb.d/app-role.psql
