#!/usr/bin/env bash
# Runs one throwaway PgBouncer for the test host that started it, and removes it (process and directory) when that
# host asks for it (a "stop" file) or is gone, even killed with SIGKILL. Runs as the postgres user under root
# (pgbouncer refuses root). The password for USER, if any, comes in PGB_PASSWORD, not on the command line.
# usage: pgbouncer.sh DIR PORT OWNER_PID PGBOUNCER POOL_MODE SERVER_HOST SERVER_PORT USER
set -u
dir=$1 port=$2 owner=$3 bin=$4 mode=$5 server_host=$6 server_port=$7 user=$8
pgb=
trap '' PIPE # the test host may be gone: a write to its closed pipe must not kill the clean-up

cleanup() {
  if [ -n "$pgb" ] && kill -0 "$pgb" 2>/dev/null; then
    kill -TERM "$pgb" 2>/dev/null # immediate shutdown; SIGINT would wait for clients to leave
    wait "$pgb" 2>/dev/null
  fi
  rm -rf "$dir"
}
trap 'cleanup; exit 0' TERM INT HUP

umask 077
mkdir -p "$dir" || exit 1
# auth_type trust: clients are not asked for a password; the auth file's password is the one pgbouncer logs in with.
printf '"%s" "%s"\n' "$user" "${PGB_PASSWORD:-}" >"$dir/users.txt"
cat >"$dir/pgbouncer.ini" <<INI
[databases]
* = host=$server_host port=$server_port

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = $port
unix_socket_dir =
auth_type = trust
auth_file = $dir/users.txt
pool_mode = $mode
; Npgsql sends search_path as a startup parameter (the tenancy core's session default); pgbouncer 1.18 refuses
; startup parameters it does not track unless told to drop them. The role's default search_path stands in for it.
ignore_startup_parameters = search_path
max_client_conn = 200
default_pool_size = 40
INI

"$bin" "$dir/pgbouncer.ini" >"$dir/pgbouncer.log" 2>&1 &
pgb=$!

while kill -0 "$pgb" 2>/dev/null && [ -d "/proc/$owner" ] && [ ! -e "$dir/stop" ]; do
  sleep 0.3
done
if ! kill -0 "$pgb" 2>/dev/null; then
  cat "$dir/pgbouncer.log" >&2
fi
cleanup
