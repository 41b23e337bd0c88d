#!/usr/bin/env bash
# Payrail's distributed topology on one machine, as real processes:
#   HAProxy (health check on /readyz) in front of LOCAL_API_REPLICAS API processes, a three-node NATS
#   JetStream cluster (events stream at replicas 3), Redis, a fresh database on the machine's
#   PostgreSQL (DATABASE_URL's server), and one process per service role.
#
#   deploy/local/topology.sh up [DIR]          # starts whatever is missing, prints the URLs
#   deploy/local/topology.sh down [DIR]        # stops every process, keeps DIR (logs, stores)
#   deploy/local/topology.sh start NAME [DIR]  # (re)starts one component: api-1, nats-2, redis, relay-1, …
#   deploy/local/topology.sh kill NAME [DIR]   # SIGKILLs one component, as a crash
#   deploy/local/topology.sh status [DIR]      # one line per component: running or not
#   deploy/local/topology.sh components [DIR]  # the component names, one a line
#
# DIR (default /tmp/payrail-local) holds each component's pid file, log and store, and `env`: the
# settings every Payrail process shares (database URL, vault key, secret key; mode 600).
set -euo pipefail

HERE="$(cd "$(dirname "$0")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
COMMAND="${1:-}"
case "$COMMAND" in
  start | kill) NAME="${2:-}" DIR="${3:-${LOCAL_DIR:-/tmp/payrail-local}}" ;;
  *) NAME="" DIR="${2:-${LOCAL_DIR:-/tmp/payrail-local}}" ;;
esac
DIR="$(mkdir -p "$DIR" && cd "$DIR" && pwd)"

# Ports: one block from LOCAL_PORT_BASE, clear of the machine's own services (5432, 4222, 6379).
BASE="${LOCAL_PORT_BASE:-27100}"
LB_PORT=$((BASE))
LB_STATS_PORT=$((BASE + 1))
API_PORT_BASE=$((BASE + 10))     # api-1, api-2, … then the role processes
NATS_PORT_BASE=$((BASE + 30))    # client ports of nats-1..3
NATS_ROUTE_BASE=$((BASE + 40))   # cluster routes
NATS_MONITOR_BASE=$((BASE + 50)) # /healthz, /jsz
REDIS_PORT=$((BASE + 60))
API_REPLICAS="${LOCAL_API_REPLICAS:-2}"
NATS_BIN="${NATS_SERVER_BIN:-/usr/sbin/nats-server}"
BASE_DATABASE_URL="${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/postgres}"
DATABASE_NAME="${LOCAL_DATABASE:-payrail_local_$BASE}"
# The first process migrates a fresh database; on two busy cores that can take a minute.
START_TIMEOUT_S="${LOCAL_START_TIMEOUT_S:-120}"

# The service roles besides the API, one process each (PAYRAIL_SERVICE, as `payrail start --service`);
# the relay twice, so its leadership fails over. Risk scoring runs inside the API role. The vault is its
# own process once the build has the vault role: the others then reach it over mutual TLS
# (PAYRAIL_VAULT_URL, certificates from ca.sh) and hold no vault key. A build without roles runs every
# role in each API process, and only the API replicas start. LOCAL_ROLES overrides the list.
SERVICE_ROLES="ledger webhooks relay-1 relay-2 scheduler"
roles_supported() { [ -f "$ROOT/dist/roles/names.js" ]; }
vault_supported() { [ -f "$ROOT/dist/roles/vault.js" ]; }
service_roles() {
  if [ -n "${LOCAL_ROLES+x}" ]; then echo "$LOCAL_ROLES"; elif roles_supported; then
    if vault_supported; then echo "vault $SERVICE_ROLES"; else echo "$SERVICE_ROLES"; fi
  fi
}
VAULT_HEALTH_PORT=$((BASE + 70)) # the vault's PORT speaks mutual TLS; its probes answer here

components() {
  echo redis
  for i in 1 2 3; do echo "nats-$i"; done
  for i in $(seq 1 "$API_REPLICAS"); do echo "api-$i"; done
  for role in $(service_roles); do echo "$role"; done
  echo haproxy
}

is_component() {
  local component
  for component in $(components); do [ "$component" = "$1" ] && return 0; done
  return 1
}

alive() { [ -f "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }

wait_until() {
  local what="$1"
  shift
  local deadline=$((SECONDS + START_TIMEOUT_S))
  until "$@" >/dev/null 2>&1; do
    if [ "$SECONDS" -ge "$deadline" ]; then
      echo "topology: timed out waiting for $what (logs in $DIR)" >&2
      return 1
    fi
    sleep 0.2
  done
}

http_ok() { curl -fsS -o /dev/null --max-time 2 "$1"; }

database_url() { echo "${BASE_DATABASE_URL%/*}/$DATABASE_NAME"; }

nats_urls() { echo "nats://127.0.0.1:$NATS_PORT_BASE,nats://127.0.0.1:$((NATS_PORT_BASE + 1)),nats://127.0.0.1:$((NATS_PORT_BASE + 2))"; }

# Shared settings, written once: a restart of any process must see the same keys and database.
write_env() {
  [ -f "$DIR/env" ] && return 0
  psql "$BASE_DATABASE_URL" -qAtc "DROP DATABASE IF EXISTS $DATABASE_NAME WITH (FORCE)" -c "CREATE DATABASE $DATABASE_NAME" >/dev/null
  umask 077
  cat >"$DIR/env" <<EOF
DATABASE_URL=$(database_url)
NATS_URL=$(nats_urls)
PAYRAIL_NATS_REPLICAS=3
REDIS_URL=redis://127.0.0.1:$REDIS_PORT
PAYRAIL_VAULT_KEY=$(openssl rand -hex 32)
PAYRAIL_BOOTSTRAP_SECRET_KEY=sk_test_$(openssl rand -hex 24)
PAYRAIL_ADMIN_TOKEN=$(openssl rand -hex 32)
PAYRAIL_WEBHOOKS_ALLOW_PRIVATE=1
PAYRAIL_TRUST_PROXY=127.0.0.1
PAYRAIL_DATA_DIR=$DIR/data
PAYRAIL_SECRETS_DIR=$DIR/secrets
PAYRAIL_METRICS_PORT=0
LOG_LEVEL=${LOG_LEVEL:-warn}
EOF
  umask 022
}

start_redis() {
  alive "$DIR/redis.pid" && return 0
  mkdir -p "$DIR/redis"
  setsid redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --dir "$DIR/redis" --save "" --appendonly no \
    >"$DIR/redis.log" 2>&1 </dev/null &
  echo $! >"$DIR/redis.pid"
  wait_until "redis" redis-cli -p "$REDIS_PORT" ping
}

start_nats() {
  local i="$1" name="nats-$1"
  alive "$DIR/$name.pid" && return 0
  mkdir -p "$DIR/$name"
  local routes=""
  for j in 1 2 3; do routes="$routes nats-route://127.0.0.1:$((NATS_ROUTE_BASE + j - 1))"; done
  cat >"$DIR/$name.conf" <<EOF
server_name: $name
listen: 127.0.0.1:$((NATS_PORT_BASE + i - 1))
http: 127.0.0.1:$((NATS_MONITOR_BASE + i - 1))
jetstream { store_dir: "$DIR/$name" }
cluster {
  name: payrail-local
  listen: 127.0.0.1:$((NATS_ROUTE_BASE + i - 1))
  routes: [$(echo "$routes" | sed 's/^ //; s/ /, /g')]
}
EOF
  setsid "$NATS_BIN" -c "$DIR/$name.conf" >"$DIR/$name.log" 2>&1 </dev/null &
  echo $! >"$DIR/$name.pid"
}

# JetStream answers once the cluster has a meta leader (needs two of three nodes).
nats_ready() { curl -fsS --max-time 2 "http://127.0.0.1:$((NATS_MONITOR_BASE + $1 - 1))/healthz?js-enabled-only=true" | grep ok >/dev/null; }

process_port() {
  local name="$1" index=0
  for component in $(components); do
    case "$component" in redis | nats-* | haproxy) continue ;; esac
    [ "$component" = "$name" ] && { echo $((API_PORT_BASE + index)); return 0; }
    index=$((index + 1))
  done
  return 1
}

start_payrail() {
  local name="$1" role="${1%%-[0-9]*}" port
  port="$(process_port "$name")"
  alive "$DIR/$name.pid" && return 0
  (
    set -a
    # shellcheck disable=SC1091
    . "$DIR/env"
    set +a
    export PORT="$port" HOST=127.0.0.1 PAYRAIL_SERVICE="$role"
    if is_component vault; then vault_settings "$role"; fi
    cd "$ROOT"
    exec setsid node dist/main.js
  ) >>"$DIR/$name.log" 2>&1 </dev/null &
  echo $! >"$DIR/$name.pid"
  local probe_port="$port"
  [ "$role" = vault ] && probe_port="$VAULT_HEALTH_PORT"
  wait_until "$name on :$probe_port" http_ok "http://127.0.0.1:$probe_port/readyz" || {
    # The chaos suite removes DIR after a failed run: the log's tail is the only trace of why it did not start.
    echo "topology: last lines of $name.log:" >&2
    tail -n 40 "$DIR/$name.log" >&2
    return 1
  }
}

# With a vault process: it alone keeps PAYRAIL_VAULT_KEY; every other role gets its URL and a client certificate.
vault_settings() {
  local role="$1" certs="$DIR/certs"
  [ -f "$certs/vault.crt" ] || "$HERE/ca.sh" "$certs" api ledger webhooks relay scheduler >/dev/null
  export PAYRAIL_VAULT_TLS_CA="$certs/ca.crt"
  if [ "$role" = vault ]; then
    export PAYRAIL_VAULT_TLS_CERT="$certs/vault.crt" PAYRAIL_VAULT_TLS_KEY="$certs/vault.key" PAYRAIL_HEALTH_PORT="$VAULT_HEALTH_PORT"
  else
    unset PAYRAIL_VAULT_KEY
    export PAYRAIL_VAULT_URL="https://127.0.0.1:$(process_port vault)" PAYRAIL_VAULT_TLS_CERT="$certs/$role.crt" PAYRAIL_VAULT_TLS_KEY="$certs/$role.key"
  fi
}

start_haproxy() {
  alive "$DIR/haproxy.pid" && return 0
  local servers=""
  for i in $(seq 1 "$API_REPLICAS"); do
    servers="$servers  server api-$i 127.0.0.1:$(process_port "api-$i") check\n"
  done
  sed -e "s|@DIR@|$DIR|g" -e "s|@LB_PORT@|$LB_PORT|g" -e "s|@LB_STATS_PORT@|$LB_STATS_PORT|g" \
    -e "s|@SERVERS@|$servers|" "$HERE/haproxy.cfg.template" >"$DIR/haproxy.cfg"
  # -db: stays in the foreground, so the pid file holds the process the chaos suite kills.
  setsid haproxy -db -f "$DIR/haproxy.cfg" >"$DIR/haproxy.log" 2>&1 </dev/null &
  echo $! >"$DIR/haproxy.pid"
  wait_until "HAProxy to route to a ready API" http_ok "http://127.0.0.1:$LB_PORT/readyz"
}

start_component() {
  case "$1" in
    redis) start_redis ;;
    nats-[123])
      start_nats "${1#nats-}"
      wait_until "JetStream on $1" nats_ready "${1#nats-}"
      ;;
    haproxy) start_haproxy ;;
    *)
      is_component "$1" || { echo "topology: no component $1 (see: $0 components)" >&2; exit 2; }
      start_payrail "$1"
      ;;
  esac
}

kill_component() {
  is_component "$1" || { echo "topology: no component $1" >&2; exit 2; }
  if alive "$DIR/$1.pid"; then kill -KILL "$(cat "$DIR/$1.pid")"; fi
  rm -f "$DIR/$1.pid"
}

# `payrail migrate` before any role starts, as a distributed install runs it (docs/deployment.md, "Database logins").
migrate_database() {
  (
    set -a
    # shellcheck disable=SC1091
    . "$DIR/env"
    set +a
    cd "$ROOT"
    node dist/cli.js migrate
  ) >>"$DIR/migrate.log" 2>&1 </dev/null || { echo "topology: payrail migrate failed (see $DIR/migrate.log)" >&2; exit 1; }
}

up() {
  write_env
  migrate_database
  start_redis
  for i in 1 2 3; do start_nats "$i"; done
  wait_until "JetStream" nats_ready 1
  # The first Payrail process (the vault when it has its own, which the others call) migrates the fresh
  # database; the others start once it is ready.
  local first=api-1
  if is_component vault; then first=vault; fi
  start_payrail "$first"
  # The rest start side by side: each waits on its own /readyz, and a failed one fails the start.
  local starting=()
  for name in $(components); do
    case "$name" in redis | nats-* | haproxy | "$first") ;; *)
      start_payrail "$name" &
      starting+=($!)
      ;;
    esac
  done
  for pid in "${starting[@]}"; do wait "$pid"; done
  start_haproxy
  local key
  key="$(grep '^PAYRAIL_BOOTSTRAP_SECRET_KEY=' "$DIR/env" | cut -d= -f2)"
  cat <<EOF

  Payrail's local topology is running ($DIR).
  API (HAProxy):   http://127.0.0.1:$LB_PORT/v1
  HAProxy stats:   http://127.0.0.1:$LB_STATS_PORT/
  NATS:            $(nats_urls)
  Redis:           redis://127.0.0.1:$REDIS_PORT
  Database:        $(database_url)
  Processes:       $(components | tr '\n' ' ')
  Secret key:      $key
  Stop:            deploy/local/down.sh $DIR
EOF
}

stop_pid_file() {
  if alive "$1"; then
    local pid
    pid="$(cat "$1")"
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
  fi
  rm -f "$1"
}

# Last started first; then any pid file left by a component a rebuilt dist no longer lists.
down() {
  for name in $(components | tac); do stop_pid_file "$DIR/$name.pid"; done
  for file in "$DIR"/*.pid; do [ -e "$file" ] && stop_pid_file "$file"; done
  return 0
}

status() {
  for name in $(components); do
    if alive "$DIR/$name.pid"; then echo "$name running $(cat "$DIR/$name.pid")"; else echo "$name stopped"; fi
  done
}

case "$COMMAND" in
  up) up ;;
  down) down ;;
  start) start_component "$NAME" ;;
  kill) kill_component "$NAME" ;;
  status) status ;;
  components) components ;;
  *)
    echo "usage: $0 up|down|status|components [DIR]  or  $0 start|kill NAME [DIR]" >&2
    exit 2
    ;;
esac
