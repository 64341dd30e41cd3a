# The servers the tests talk to, sourced by scripts/test.sh: PostgreSQL
# (the event log's tests) and NATS (for the cluster's messages). Each is
# used where one already answers on its usual port, else a private one is
# started on a free port (installed from Debian's packages first when
# missing and apt-get is usable as root), and stopped by stop_services.
# Exports DISPATCH_TEST_POSTGRES and DISPATCH_TEST_NATS; a value already
# set is kept. PG_PROBE_PORT and NATS_PROBE_PORT change the ports probed
# (a port with nothing on it tries the private servers).

services_dir=""
pg_ctl_cmd=()
nats_pid=""

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

answers() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

pg_answers() {
  if command -v pg_isready >/dev/null; then pg_isready -q -h 127.0.0.1 -p "$1"; else answers "$1"; fi
}

apt_install() {
  command -v apt-get >/dev/null && [ "$(id -u)" = 0 ] || return 0
  apt-get update -qq && apt-get install -y -qq "$@" >/dev/null
}

newest_pg_bin() { ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1; }

start_postgres() {
  [ -z "${DISPATCH_TEST_POSTGRES:-}" ] || return 0
  local port="${PG_PROBE_PORT:-5432}"
  if pg_answers "$port"; then
    export DISPATCH_TEST_POSTGRES="postgres://postgres@127.0.0.1:$port/postgres"
    return 0
  fi
  [ -n "$(newest_pg_bin)" ] || apt_install postgresql
  local bin; bin="$(newest_pg_bin)"
  if [ ! -x "$bin/initdb" ]; then
    echo "services: no PostgreSQL on port $port and none to install (apt-get as root); set DISPATCH_TEST_POSTGRES" >&2
    return 1
  fi
  # initdb refuses to run as root: the cluster belongs to `postgres`.
  local as=()
  if [ "$(id -u)" = 0 ]; then
    id postgres >/dev/null 2>&1 || useradd --system --no-create-home postgres
    chown postgres "$services_dir"
    as=(runuser -u postgres --)
  fi
  port="$(free_port)"
  "${as[@]}" "$bin/initdb" -D "$services_dir/pg" -U postgres --auth=trust -E UTF8 >"$services_dir/initdb.log"
  pg_ctl_cmd=("${as[@]}" "$bin/pg_ctl" -D "$services_dir/pg")
  "${pg_ctl_cmd[@]}" -l "$services_dir/pg.log" -w \
    -o "-k $services_dir -p $port -c listen_addresses=127.0.0.1" start >/dev/null
  export DISPATCH_TEST_POSTGRES="postgres://postgres@127.0.0.1:$port/postgres"
  echo "services: private PostgreSQL on port $port"
}

start_nats() {
  [ -z "${DISPATCH_TEST_NATS:-}" ] || return 0
  local port="${NATS_PROBE_PORT:-4222}"
  if answers "$port"; then
    export DISPATCH_TEST_NATS="nats://127.0.0.1:$port"
    return 0
  fi
  local nats; nats="$(command -v nats-server || echo /usr/sbin/nats-server)"
  [ -x "$nats" ] || apt_install nats-server
  if [ ! -x "$nats" ]; then
    echo "services: no NATS on port $port and none to install (apt-get as root); set DISPATCH_TEST_NATS" >&2
    return 1
  fi
  port="$(free_port)"
  "$nats" -js -a 127.0.0.1 -p "$port" -sd "$services_dir/nats" >"$services_dir/nats.log" 2>&1 &
  nats_pid=$!
  for _ in $(seq 50); do answers "$port" && break; sleep 0.1; done
  answers "$port" || { echo "services: nats-server did not start:" >&2; cat "$services_dir/nats.log" >&2; return 1; }
  export DISPATCH_TEST_NATS="nats://127.0.0.1:$port"
  echo "services: private NATS on port $port"
}

start_services() {
  services_dir="$(mktemp -d)"
  start_postgres
  start_nats
}

stop_services() {
  if [ ${#pg_ctl_cmd[@]} -gt 0 ]; then "${pg_ctl_cmd[@]}" -m fast stop >/dev/null || true; fi
  if [ -n "$nats_pid" ]; then kill "$nats_pid" 2>/dev/null || true; wait "$nats_pid" 2>/dev/null || true; fi
  if [ -n "$services_dir" ]; then rm -rf "$services_dir"; fi
}
