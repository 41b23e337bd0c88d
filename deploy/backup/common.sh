# Shared by dev-cluster.sh and restore-drill.sh (sourced, not run).
# PostgreSQL 15 from Debian (pgBackRest 2.45 supports up to 15); PG_BIN chooses another build.
PG_BIN="${PG_BIN:-/usr/lib/postgresql/15/bin}"
STANZA=payrail
BACKUP_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

# PostgreSQL refuses to run as root: under root, its programs (and pgBackRest, which must own the
# same files) run as the postgres user.
as_pg_owner() {
  if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

# A directory the PostgreSQL owner can use, created when missing.
owned_dir() {
  mkdir -p "$1"
  if [ "$(id -u)" -eq 0 ]; then chown postgres:postgres "$1"; fi
  chmod 700 "$1"
}

# pgBackRest with one configuration (the file, and the conf.d beside it), never /etc/pgbackrest.conf.
backrest() {
  local config="$1" include=()
  shift
  [ -d "$(dirname "$config")/conf.d" ] && include=("--config-include-path=$(dirname "$config")/conf.d")
  as_pg_owner pgbackrest --config="$config" "${include[@]}" --stanza="$STANZA" "$@"
}

die() {
  echo "$(basename "$0"): $*" >&2
  exit 1
}
