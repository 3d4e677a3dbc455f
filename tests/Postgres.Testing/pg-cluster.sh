#!/usr/bin/env bash
# Runs one throwaway PostgreSQL cluster for the test host that started it, and removes it (process and directory)
# when that host asks for it (a "stop" file) or is gone, even killed with SIGKILL. Runs as the postgres user under root.
# A "down" file asks for an outage: a fast shutdown (clean: WAL flushed, so acknowledged commits survive even with
# fsync and synchronous_commit off), a "stopped" file once the server is gone, and a start on the same port and data
# directory once "down" is removed again.
# usage: pg-cluster.sh DIR PORT OWNER_PID PG_BIN_DIR [NAME=VALUE ...] (further server settings)
set -u
dir=$1 port=$2 owner=$3 bin=$4
shift 4
settings=()
for setting in "$@"; do settings+=(-c "$setting"); done
pg=
trap '' PIPE # the test host may be gone: a write to its closed pipe must not kill the clean-up

stop_server() {
  if [ -n "$pg" ] && kill -0 "$pg" 2>/dev/null; then
    kill -INT "$pg" 2>/dev/null # fast shutdown
    wait "$pg" 2>/dev/null
  fi
  pg=
}

cleanup() {
  stop_server
  rm -rf "$dir"
}
trap 'cleanup; exit 0' TERM INT HUP

start_server() {
  "$bin/postgres" -D "$dir/data" -p "$port" -k "$dir" \
    -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off \
    -c max_connections=400 -c shared_buffers=128MB -c max_locks_per_transaction=256 "${settings[@]}" \
    >>"$dir/postgres.log" 2>&1 &
  pg=$!
}

umask 077
mkdir -p "$dir" || exit 1
if ! "$bin/initdb" -D "$dir/data" -U postgres --auth=trust --no-sync --encoding=UTF8 --locale=C.UTF-8 >"$dir/initdb.log" 2>&1; then
  cat "$dir/initdb.log" >&2
  cleanup
  exit 1
fi

start_server
while [ -d "/proc/$owner" ] && [ ! -e "$dir/stop" ]; do
  if [ -e "$dir/down" ]; then
    if [ -n "$pg" ]; then
      stop_server
      : >"$dir/stopped"
    fi
  elif [ -z "$pg" ]; then
    rm -f "$dir/stopped"
    start_server
  elif ! kill -0 "$pg" 2>/dev/null; then
    cat "$dir/postgres.log" >&2 # died on its own: report why, and end
    break
  fi
  sleep 0.1
done
cleanup
