#!/usr/bin/env bash
# Payrail's database cluster on one machine, for development and the failover drill (test/ha):
# a single-node etcd, two Patroni-managed PostgreSQL 15 nodes (a primary and a synchronous standby)
# and HAProxy sending writes to whichever node is the leader.
#
#   deploy/ha/cluster.sh start     # prints DATABASE_URL (writes, through HAProxy) and the replicas' URL
#   deploy/ha/cluster.sh status    # patronictl list
#   deploy/ha/cluster.sh stop      # stops every process, keeps the data
#   deploy/ha/cluster.sh clean     # stops and deletes HA_DIR
#
# Everything lives under HA_DIR; ports are settings, so the machine's own PostgreSQL (5432) is untouched.
set -euo pipefail

HERE="$(cd "$(dirname "$0")" && pwd)"
HA_DIR="${HA_DIR:-/tmp/payrail-ha}"
HA_PASSWORD="${HA_PASSWORD:-payrail-ha}"
HA_ETCD_PORT="${HA_ETCD_PORT:-23790}"
HA_ETCD_PEER_PORT="${HA_ETCD_PEER_PORT:-23800}"
HA_PG_PORT_1="${HA_PG_PORT_1:-25432}"
HA_PG_PORT_2="${HA_PG_PORT_2:-25433}"
HA_REST_PORT_1="${HA_REST_PORT_1:-28008}"
HA_REST_PORT_2="${HA_REST_PORT_2:-28009}"
HA_HAPROXY_PORT="${HA_HAPROXY_PORT:-25000}"
HA_HAPROXY_READ_PORT="${HA_HAPROXY_READ_PORT:-25001}"
# Failover timing (seconds): a silent leader loses its key after HA_TTL.
HA_TTL="${HA_TTL:-10}"
HA_LOOP_WAIT="${HA_LOOP_WAIT:-2}"
HA_RETRY_TIMEOUT="${HA_RETRY_TIMEOUT:-4}"
PG_BIN="${PG_BIN:-/usr/lib/postgresql/15/bin}"
START_TIMEOUT_S="${HA_START_TIMEOUT_S:-90}"

# PostgreSQL refuses to run as root: under root, Patroni (and so PostgreSQL) runs as `postgres`.
as_postgres() {
  if [ "$(id -u)" -eq 0 ]; then setpriv --reuid=postgres --regid=postgres --init-groups "$@"; else "$@"; fi
}

rest_port() { if [ "$1" = node1 ]; then echo "$HA_REST_PORT_1"; else echo "$HA_REST_PORT_2"; fi; }
pg_port() { if [ "$1" = node1 ]; then echo "$HA_PG_PORT_1"; else echo "$HA_PG_PORT_2"; fi; }

wait_until() {
  local what="$1"
  shift
  local deadline=$((SECONDS + START_TIMEOUT_S))
  until "$@" >/dev/null 2>&1; do
    if [ "$SECONDS" -ge "$deadline" ]; then
      echo "cluster: timed out waiting for $what (logs in $HA_DIR)" >&2
      return 1
    fi
    sleep 0.3
  done
}

http_ok() { curl -fsS -o /dev/null --max-time 2 "$1"; }

either_answers() { http_ok "http://127.0.0.1:$HA_REST_PORT_1$1" || http_ok "http://127.0.0.1:$HA_REST_PORT_2$1"; }

alive() { [ -f "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }

start_etcd() {
  alive "$HA_DIR/etcd.pid" && return 0
  mkdir -p "$HA_DIR/etcd"
  local client="http://127.0.0.1:$HA_ETCD_PORT" peer="http://127.0.0.1:$HA_ETCD_PEER_PORT"
  setsid etcd --name payrail-ha --data-dir "$HA_DIR/etcd" \
    --listen-client-urls "$client" --advertise-client-urls "$client" \
    --listen-peer-urls "$peer" --initial-advertise-peer-urls "$peer" \
    --initial-cluster "payrail-ha=$peer" --initial-cluster-state new --enable-v2 \
    >"$HA_DIR/etcd.log" 2>&1 </dev/null &
  echo $! >"$HA_DIR/etcd.pid"
  wait_until "etcd" http_ok "$client/health"
}

render() {
  local template="$1" output="$2"
  shift 2
  local script=()
  while [ "$#" -gt 0 ]; do
    script+=(-e "s|@$1@|$2|g")
    shift 2
  done
  sed "${script[@]}" "$template" >"$output"
}

start_node() {
  local node="$1" node_dir="$HA_DIR/$1"
  alive "$node_dir/patroni.pid" && return 0
  mkdir -p "$node_dir"
  render "$HERE/patroni.yml.template" "$node_dir/patroni.yml" \
    NODE "$node" REST_PORT "$(rest_port "$node")" PG_PORT "$(pg_port "$node")" ETCD_PORT "$HA_ETCD_PORT" \
    DATA_DIR "$node_dir/data" NODE_DIR "$node_dir" PG_BIN "$PG_BIN" PASSWORD "$HA_PASSWORD" \
    TTL "$HA_TTL" LOOP_WAIT "$HA_LOOP_WAIT" RETRY_TIMEOUT "$HA_RETRY_TIMEOUT"
  chmod 600 "$node_dir/patroni.yml" # it holds the cluster's passwords
  if [ "$(id -u)" -eq 0 ]; then chown -R postgres:postgres "$node_dir"; fi
  # Simple commands that exec one another, so $! is Patroni itself: `stop` and the drill signal it.
  if [ "$(id -u)" -eq 0 ]; then
    setsid setpriv --reuid=postgres --regid=postgres --init-groups patroni "$node_dir/patroni.yml" >"$node_dir/patroni.log" 2>&1 </dev/null &
  else
    setsid patroni "$node_dir/patroni.yml" >"$node_dir/patroni.log" 2>&1 </dev/null &
  fi
  echo $! >"$node_dir/patroni.pid"
}

start_haproxy() {
  alive "$HA_DIR/haproxy.pid" && return 0
  render "$HERE/haproxy.cfg.template" "$HA_DIR/haproxy.cfg" \
    HA_DIR "$HA_DIR" HAPROXY_PORT "$HA_HAPROXY_PORT" HAPROXY_READ_PORT "$HA_HAPROXY_READ_PORT" \
    PG_PORT_1 "$HA_PG_PORT_1" PG_PORT_2 "$HA_PG_PORT_2" REST_PORT_1 "$HA_REST_PORT_1" REST_PORT_2 "$HA_REST_PORT_2"
  haproxy -D -f "$HA_DIR/haproxy.cfg"
}

database_url() { echo "postgres://postgres:$HA_PASSWORD@127.0.0.1:$1/postgres"; }

start() {
  mkdir -p "$HA_DIR"
  # PostgreSQL (as postgres) must reach its node's dir under HA_DIR.
  if [ "$(id -u)" -eq 0 ]; then chmod 711 "$HA_DIR"; fi
  start_etcd
  # node1 first: on a fresh cluster it bootstraps and node2 clones it. On a restart of what is
  # missing, either node may lead.
  start_node node1
  wait_until "a leader" either_answers /primary
  start_node node2
  wait_until "a synchronous standby" either_answers /sync
  start_haproxy
  wait_until "HAProxy to route writes" pg_ready_through "$HA_HAPROXY_PORT"
  echo "DATABASE_URL=$(database_url "$HA_HAPROXY_PORT")"
  echo "DATABASE_READ_URL=$(database_url "$HA_HAPROXY_READ_PORT")"
}

pg_ready_through() { "$PG_BIN/pg_isready" -q -h 127.0.0.1 -p "$1"; }

stop_pid_file() {
  local file="$1"
  if alive "$file"; then
    local pid
    pid="$(cat "$file")"
    kill -CONT "$pid" 2>/dev/null || true # a drill may have left it stopped
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
  fi
  rm -f "$file"
}

stop_postgres() {
  local data="$HA_DIR/$1/data"
  [ -f "$data/postmaster.pid" ] || return 0
  local pid
  pid="$(head -1 "$data/postmaster.pid")"
  # Backends a drill froze with their postmaster must run again to exit.
  pkill -CONT -P "$pid" 2>/dev/null || true
  kill -CONT "$pid" 2>/dev/null || true
  as_postgres "$PG_BIN/pg_ctl" stop -D "$data" -m immediate >/dev/null 2>&1 || true
}

stop() {
  [ -d "$HA_DIR" ] || return 0
  stop_pid_file "$HA_DIR/haproxy.pid"
  for node in node1 node2; do
    stop_pid_file "$HA_DIR/$node/patroni.pid"
    stop_postgres "$node"
  done
  stop_pid_file "$HA_DIR/etcd.pid"
}

status() {
  as_postgres patronictl -c "$HA_DIR/node1/patroni.yml" list
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  clean)
    stop
    rm -rf "$HA_DIR"
    ;;
  status) status ;;
  *)
    echo "usage: $0 start|status|stop|clean (settings: HA_DIR, HA_*_PORT*, HA_PASSWORD, HA_TTL)" >&2
    exit 2
    ;;
esac
