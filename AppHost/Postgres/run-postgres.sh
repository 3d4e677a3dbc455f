#!/usr/bin/env bash
# Runs PostgreSQL from the installed server binaries as an Aspire executable resource (no container engine needed):
# one server, or with CITUS_WORKERS > 0 a Citus cluster, a coordinator on PGPORT and that many workers, the app's
# database on each with the extension, the workers registered and schema-based sharding on (each tenant's schema is
# placed on one worker).
# Environment (set by the AppHost): PGDATA_ROOT, PGPORT, POSTGRES_PASSWORD, POSTGRES_DB, APP_ROLE, APP_PASSWORD,
# OWNER_ROLE, OWNER_PASSWORD, CITUS_WORKERS (optional, 0), PG_BIN (optional). Data survives restarts in PGDATA_ROOT;
# the passwords are (re)applied on every start, so a new one never locks you out.
set -euo pipefail

bin=${PG_BIN:-$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)}
[ -x "$bin/postgres" ] || { echo "No PostgreSQL server binaries found (apt-get install postgresql)." >&2; exit 1; }
workers=${CITUS_WORKERS:-0}
if [ "$workers" -gt 0 ] && [ ! -e "$(dirname "$bin")/lib/citus.so" ]; then
  echo "Citus is not installed for $("$bin/postgres" --version): install Citus's packages for it (https://docs.citusdata.com/en/stable/installation/)." >&2
  exit 1
fi

as_postgres=()
if [ "$(id -u)" = 0 ]; then
  # PostgreSQL refuses to run as root. setpriv replaces itself: no extra parent process is left.
  as_postgres=(setpriv --reuid=postgres --regid=postgres --init-groups)
  mkdir -p "$PGDATA_ROOT"
  chown postgres:postgres "$PGDATA_ROOT"
fi
socket="$PGDATA_ROOT"
pids=()
# However the script ends (stopped, a step failed, the coordinator gone), the servers it started end with it: a fast
# shutdown whatever signal the orchestrator sends, then an immediate one (recovered at the next start) for a Citus node
# still waiting on a connection to a node that no longer answers.
stop_servers() {
  kill -INT "${pids[@]}" 2>/dev/null || return 0
  for _ in $(seq 1 50); do
    kill -0 "${pids[@]}" 2>/dev/null || break
    sleep 0.2
  done
  kill -QUIT "${pids[@]}" 2>/dev/null || true
  wait || true
}
trap 'exit 0' TERM INT
trap stop_servers EXIT

# start DATA-DIR PORT HOST-AUTH [SETTING...]: creates the cluster on first use, then runs it in the background until
# it accepts connections. Fails if the server exits first (its port taken, most often): its log says why.
start() {
  local data=$1 port=$2 auth=$3
  shift 3
  if [ ! -s "$data/PG_VERSION" ]; then
    echo "Creating a PostgreSQL cluster in $data"
    "${as_postgres[@]}" "$bin/initdb" -D "$data" -U postgres --auth-local=trust --auth-host="$auth" \
      --encoding=UTF8 --locale=C.UTF-8 >/dev/null || exit 1
  fi
  local settings=()
  for s in "$@"; do settings+=(-c "$s"); done
  "${as_postgres[@]}" "$bin/postgres" -D "$data" -p "$port" -k "$socket" -c listen_addresses=localhost "${settings[@]}" &
  pids+=($!)
  # Readiness, not a time limit: a server recovering after a crash may take long, and the orchestrator bounds the wait.
  until "$bin/pg_isready" -q -h "$socket" -p "$port" -U postgres; do
    if ! kill -0 "${pids[-1]}" 2>/dev/null; then
      wait "${pids[-1]}" || true
      unset 'pids[-1]'
      return 1
    fi
    sleep 0.2
  done
}

# The first port from $1 on that nothing listens on and no worker of this cluster has had.
free_port() {
  local port=$1
  while (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null || [ -e "$socket/.s.PGSQL.$port" ] ||
    cat "$PGDATA_ROOT"/worker-*.port 2>/dev/null | grep -qx "$port"; do
    port=$((port + 1))
  done
  echo "$port"
}

psql_on() { # psql_on PORT DATABASE [ARGS...]
  local port=$1 db=$2
  shift 2
  PGOPTIONS='-c client_min_messages=warning' "${as_postgres[@]}" "$bin/psql" -X -q -v ON_ERROR_STOP=1 -h "$socket" -p "$port" -U postgres -d "$db" "$@"
}
vars=(-v db="$POSTGRES_DB" -v app_role="$APP_ROLE" -v app_pw="$APP_PASSWORD" -v owner_role="$OWNER_ROLE" -v owner_pw="$OWNER_PASSWORD")

citus=()
auth=scram-sha-256
if [ "$workers" -gt 0 ]; then
  # The nodes connect to each other on loopback as the role a query runs as, tenant roles included, which have no
  # password: this development cluster trusts loopback (it listens on nothing else), and asks for no TLS there.
  # Per-tenant statistics on (citus_stat_tenants: 'tenants status').
  citus=(shared_preload_libraries=citus citus.node_conninfo=sslmode=disable citus.stat_tenants_track=all)
  auth=trust
fi
start "$PGDATA_ROOT/data" "$PGPORT" "$auth" "${citus[@]}" || { echo "PostgreSQL did not start on port $PGPORT (its log is above)." >&2; exit 1; }
psql_on "$PGPORT" postgres -v pw="$POSTGRES_PASSWORD" <<'SQL'
ALTER ROLE postgres PASSWORD :'pw';
SQL

roles_in=postgres
if [ "$workers" -gt 0 ]; then
  # The cluster first, then the roles, made in the app's database where Citus sees them: it creates them on every
  # node as the superuser and records them as its own. A role it does not know it would copy to a worker later as the
  # role that first depends on it, and only a superuser may set a role's attributes there.
  psql_on "$PGPORT" postgres -v db="$POSTGRES_DB" <<'SQL'
SELECT format('CREATE DATABASE %I', :'db') WHERE NOT EXISTS (SELECT 1 FROM pg_database WHERE datname = :'db') \gexec
SQL
  psql_on "$PGPORT" "$POSTGRES_DB" -c "CREATE EXTENSION IF NOT EXISTS citus"
  # Each worker keeps the port it first got where it can, so the coordinator's metadata stays right. Ports are chosen
  # away from the ones the orchestrator hands out (next to PGPORT), which it may not have bound yet. Another cluster
  # starting at the same moment may take the port found free: then the next one is tried.
  ports=()
  moved=()
  next=55433
  for i in $(seq 1 "$workers"); do
    data="$PGDATA_ROOT/worker-$i"
    had=$(cat "$data.port" 2>/dev/null || true)
    port=${had:-$(free_port "$next")}
    tries=0
    until start "$data" "$port" trust "${citus[@]}"; do
      tries=$((tries + 1))
      [ "$tries" -lt 20 ] || { echo "Worker $i did not start (its log is above)." >&2; exit 1; }
      port=$(free_port $((port + 1)))
    done
    next=$((port + 1))
    echo "$port" >"$data.port"
    if [ -n "$had" ] && [ "$had" != "$port" ]; then
      echo "Worker $i moved from port $had (taken) to $port"
      moved+=("$had:$port")
    fi
    psql_on "$port" postgres -v db="$POSTGRES_DB" <<'SQL'
SELECT format('CREATE DATABASE %I', :'db') WHERE NOT EXISTS (SELECT 1 FROM pg_database WHERE datname = :'db') \gexec
SQL
    psql_on "$port" "$POSTGRES_DB" -c "CREATE EXTENSION IF NOT EXISTS citus"
    ports+=("$port")
  done
  # The coordinator's metadata follows a worker that moved, once every node is up to receive it. Citus syncs it to the
  # workers in the background and refuses other metadata changes until it has.
  for move in "${moved[@]}"; do
    psql_on "$PGPORT" "$POSTGRES_DB" -v old="${move%%:*}" -v new="${move##*:}" <<'SQL'
\o /dev/null
SELECT citus_update_node(nodeid, 'localhost', :new) FROM pg_dist_node WHERE nodename = 'localhost' AND nodeport = :old;
SQL
  done
  until [ "$(psql_on "$PGPORT" "$POSTGRES_DB" -Atc "SELECT count(*) FROM pg_dist_node WHERE hasmetadata AND NOT metadatasynced")" = 0 ]; do
    sleep 0.2
  done

  psql_on "$PGPORT" "$POSTGRES_DB" -v db="$POSTGRES_DB" -v coordinator="localhost:$PGPORT" -v workers="${ports[*]/#/localhost:}" \
    <"$(dirname "$0")/init/citus.psql"
  roles_in=$POSTGRES_DB
  echo "Citus: coordinator on localhost:$PGPORT, workers on $(printf 'localhost:%s ' "${ports[@]}")"
fi
psql_on "$PGPORT" "$roles_in" "${vars[@]}" <"$(dirname "$0")/init/roles.psql"

# Last: what the AppHost's health check waits for.
psql_on "$PGPORT" "$POSTGRES_DB" "${vars[@]}" <"$(dirname "$0")/init/database.psql"
echo "PostgreSQL is ready on localhost:$PGPORT, database $POSTGRES_DB"

wait "${pids[0]}" || true # the coordinator: the workers go with it
