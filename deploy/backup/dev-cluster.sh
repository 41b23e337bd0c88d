#!/usr/bin/env bash
# A PostgreSQL 15 primary backed up by pgBackRest, under one directory, for development and the
# restore drill's test (test/ha/restore-drill.test.ts). Production runs its own PostgreSQL with the
# same settings (docs/operations.md, "Backups").
#
#   dev-cluster.sh init BASE PORT           new primary: WAL archived to BASE/repo, stanza created,
#                                           first full backup taken; prints its DATABASE_URL
#   dev-cluster.sh backup BASE [full|diff|incr]
#   dev-cluster.sh stop BASE                stops the PostgreSQL whose data dir is BASE/data
#
# Layout: BASE/data (PGDATA), BASE/run (socket), BASE/conf/pgbackrest.conf, BASE/repo, BASE/log.
set -euo pipefail
source "$(dirname "$0")/common.sh"

usage() {
  sed -n '6,9p' "$0" | cut -c3- >&2
  exit 2
}

render_config() {
  local base="$1" port="$2"
  sed -e "s|@REPO_PATH@|$base/repo|" -e "s|@LOG_PATH@|$base/log|" -e "s|@LOCK_PATH@|$base/lock|" \
    -e "s|@PG_DATA@|$base/data|" -e "s|@PG_PORT@|$port|" -e "s|@PG_SOCKET@|$base/run|" \
    "$BACKUP_DIR/pgbackrest.conf.template" >"$base/conf/pgbackrest.conf"
}

# Settings a backed-up primary needs: every WAL segment goes to the repository as it fills, and at
# least once a minute (archive_timeout bounds what a lost disk can take with it).
primary_settings() {
  local base="$1" port="$2"
  cat <<CONF
listen_addresses = '127.0.0.1'
port = $port
unix_socket_directories = '$base/run'
max_connections = 200
wal_level = replica
archive_mode = on
archive_command = 'pgbackrest --config=$base/conf/pgbackrest.conf --config-include-path=$base/conf/conf.d --stanza=$STANZA archive-push %p'
archive_timeout = 60
CONF
}

init() {
  local base="$1" port="$2"
  [ -e "$base/data" ] && die "$base/data exists already"
  mkdir -p "$base" && chmod 711 "$base"
  for dir in data run conf conf/conf.d repo log lock; do owned_dir "$base/$dir"; done
  as_pg_owner test -x "$base/data" || die "the postgres user cannot reach $base: make its parent directories traversable (chmod o+x)"
  render_config "$base" "$port"
  chmod 644 "$base/conf/pgbackrest.conf"
  # Trust on 127.0.0.1 and the socket: a development cluster only (listen_addresses above).
  as_pg_owner "$PG_BIN/initdb" -D "$base/data" -U postgres -A trust -E UTF8 --locale=C --data-checksums >/dev/null
  primary_settings "$base" "$port" | as_pg_owner tee -a "$base/data/postgresql.conf" >/dev/null
  as_pg_owner "$PG_BIN/pg_ctl" -D "$base/data" -l "$base/log/postgresql.log" -w -t 60 start >/dev/null
  as_pg_owner "$PG_BIN/createdb" -h "$base/run" -p "$port" -U postgres payrail
  backrest "$base/conf/pgbackrest.conf" stanza-create
  backrest "$base/conf/pgbackrest.conf" check
  backrest "$base/conf/pgbackrest.conf" backup --type=full
  echo "DATABASE_URL=postgres://postgres@127.0.0.1:$port/payrail"
}

case "${1:-}" in
  init)
    [ $# -eq 3 ] || usage
    init "$2" "$3"
    ;;
  backup)
    [ $# -ge 2 ] || usage
    backrest "$2/conf/pgbackrest.conf" backup --type="${3:-full}"
    ;;
  stop)
    [ $# -eq 2 ] || usage
    as_pg_owner "$PG_BIN/pg_ctl" -D "$2/data" -m fast -w -t 60 stop >/dev/null
    ;;
  *) usage ;;
esac
