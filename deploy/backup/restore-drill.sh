#!/usr/bin/env bash
# The restore drill: restores Payrail's database from pgBackRest (a full backup and the WAL archive)
# to a point in time, into a FRESH data dir and port, then checks it the way Payrail would run on it
# and reports what it holds, so RPO and RTO are measured, not claimed.
#
#   restore-drill.sh --config FILE --to TIME|latest --dir DIR --port PORT [--primary-url URL] [--keep]
#
#   --config       the primary's pgbackrest.conf (stanza "payrail")
#   --to           a time PostgreSQL and date(1) read ('2026-12-02 00:40:00.25+00', ISO 8601), or
#                  latest: everything the archive holds
#   --dir, --port  where the restored copy lives and listens (DIR/data must not exist)
#   --primary-url  the live database, when it is up: its WAL is archived first (pgbackrest check) and
#                  its payments written before the target are compared with the restore's
#   --keep         leave the restored PostgreSQL running (stop it: dev-cluster.sh stop DIR)
#
# With PAYRAIL_VAULT_KEY or PAYRAIL_SECRETS_DIR set (the key, supplied apart from the backup), the
# drill also opens the restore's vault keys with it. Exit 0 when the restore misses no payment
# written before the target, its migrations are current, `payrail ledger verify` is clean and the
# vault key (when given) opens it; 1 otherwise. The last lines are `drill.<name>=<value>`.
set -euo pipefail
source "$(dirname "$0")/common.sh"
export LC_ALL=C # sort and comm compare ids byte by byte
PAYRAIL_CLI="${PAYRAIL_CLI:-node $BACKUP_DIR/../../bin/payrail.js}"

config="" to="" dir="" port="" primary_url="" keep=n
while [ $# -gt 0 ]; do
  case "$1" in
    --config) config="$2" && shift 2 ;;
    --to) to="$2" && shift 2 ;;
    --dir) dir="$2" && shift 2 ;;
    --port) port="$2" && shift 2 ;;
    --primary-url) primary_url="$2" && shift 2 ;;
    --keep) keep=y && shift ;;
    *) sed -n '6,14p' "$0" | cut -c3- >&2 && exit 2 ;;
  esac
done
[ -n "$config" ] && [ -n "$to" ] && [ -n "$dir" ] && [ -n "$port" ] || { sed -n '6,14p' "$0" | cut -c3- >&2 && exit 2; }
[ -e "$dir/data" ] && die "$dir/data exists: restore into a fresh directory"

now() { date +%s.%N; }
seconds() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", b - a }'; }
restored_sql() { as_pg_owner "$PG_BIN/psql" -h "$dir/run" -p "$port" -U postgres -d payrail -XAtq -c "$1"; }

# The target as PostgreSQL and pgBackRest both read it, and as unix seconds for comparing `created`.
if [ "$to" = latest ]; then
  target_epoch="$(now)"
else
  target_epoch="$(date -d "$to" +%s.%N 2>/dev/null)" || die "--to: cannot read '$to' as a time"
fi
target="$(date -u -d "@$target_epoch" '+%Y-%m-%d %H:%M:%S.%6N+00')"

# 1. The live primary's current WAL goes to the archive first (check switches WAL and waits for it).
if [ -n "$primary_url" ]; then
  backrest "$config" check >/dev/null 2>&1 || echo "restore-drill: the primary did not archive its WAL now; restoring from what the archive holds" >&2
fi

# 2. Restore into the fresh dir: pgBackRest picks the newest backup before the target and writes the
#    recovery settings; archiving is off, so the copy never writes into the primary's archive.
started="$(now)"
mkdir -p "$dir" && chmod 711 "$dir"
for sub in data run log; do owned_dir "$dir/$sub"; done
restore_type=(--type=time "--target=$target" --target-action=promote)
[ "$to" = latest ] && restore_type=(--type=default)
backrest "$config" restore --pg1-path="$dir/data" --archive-mode=off "${restore_type[@]}"
restored="$(now)"

# 3. Start it on its own port and wait for recovery to reach the target and promote.
as_pg_owner "$PG_BIN/pg_ctl" -D "$dir/data" -l "$dir/log/postgresql.log" -w -t 600 \
  -o "-p $port -k $dir/run -c listen_addresses=127.0.0.1" start >/dev/null ||
  die "PostgreSQL did not start on the restore: $(tail -5 "$dir/log/postgresql.log")"
until [ "$(restored_sql 'SELECT pg_is_in_recovery()' 2>/dev/null)" = f ]; do
  as_pg_owner "$PG_BIN/pg_ctl" -D "$dir/data" status >/dev/null || die "recovery failed: $(tail -5 "$dir/log/postgresql.log")"
  sleep 0.1
done
opened="$(now)"

# 4. Payrail on the restore: migrations current, ledger balanced, vault key opening it.
restored_url="postgres://postgres@127.0.0.1:$port/payrail"
payrail() {
  env -u PAYRAIL_APP_DATABASE_URL -u PAYRAIL_VAULT_DATABASE_URL -u PAYRAIL_SYSTEM_DATABASE_URL DATABASE_URL="$restored_url" $PAYRAIL_CLI "$@"
}
status=0
migrations=current
payrail migrate >"$dir/log/migrate.txt" 2>&1 || { migrations=failed && status=1; }
grep -q '^Applied' "$dir/log/migrate.txt" && migrations=applied # a restore older than the code: now current
ledger=clean
payrail ledger verify >"$dir/log/ledger-verify.txt" 2>&1 || { ledger=failed && status=1; }
vault_key="not supplied"
if [ -n "${PAYRAIL_VAULT_KEY:-}${PAYRAIL_SECRETS_DIR:-}" ]; then
  vault_key=opens
  payrail keys status >"$dir/log/keys-status.txt" 2>&1 || { vault_key=fails && status=1; }
fi
checked="$(now)"

# 5. What the restore holds against what the primary wrote before the target (ids, oldest first).
payments="$(restored_sql 'SELECT count(*) FROM payments.payment_intents')"
read -r last_id last_created < <(restored_sql 'SELECT id, created FROM payments.payment_intents ORDER BY created DESC, id DESC LIMIT 1' | tr '|' ' ') || true
last_id="${last_id:--}" last_created="${last_created:-0}"
last_payment="none"
[ "$last_id" != - ] && last_payment="$last_id created $(date -u -d "@$last_created" '+%F %T')"
last_commit="$(restored_sql 'SELECT coalesce(pg_last_xact_replay_timestamp()::text, $$-$$)')"
missing=0 recovered=0 rpo_s=0
if [ -n "$primary_url" ]; then
  # created is whole seconds: payments of the target's own second are left out of the comparison.
  before_target="SELECT id || ' ' || created FROM payments.payment_intents WHERE created < ${target_epoch%.*}"
  restored_sql "$before_target" | sort >"$dir/log/restored-payments.txt"
  as_pg_owner "$PG_BIN/psql" "$primary_url" -XAtq -c "$before_target" | sort >"$dir/log/primary-payments.txt"
  missing="$(comm -13 "$dir/log/restored-payments.txt" "$dir/log/primary-payments.txt" | wc -l)"
  recovered="$(comm -23 "$dir/log/restored-payments.txt" "$dir/log/primary-payments.txt" | wc -l)"
  oldest_missing="$(comm -13 "$dir/log/restored-payments.txt" "$dir/log/primary-payments.txt" | awk 'NR == 1 || $2 < m { m = $2 } END { print m }')"
  [ "$missing" -gt 0 ] && rpo_s="$(seconds "$oldest_missing" "$target_epoch")" && status=1
fi

if [ "$keep" = n ]; then
  as_pg_owner "$PG_BIN/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null
  rm -rf "$dir/data"
fi

cat <<REPORT
restore-drill: restored to $target
  payments in the restore: $payments, the last: $last_payment
  last transaction replayed: $last_commit
  payments written before the target missing from the restore: $missing (RPO $rpo_s s); in the restore but gone from the primary: $recovered
  RTO: $(seconds "$started" "$checked") s (restore $(seconds "$started" "$restored") s, recovery and start $(seconds "$restored" "$opened") s, Payrail checks $(seconds "$opened" "$checked") s)
  migrations: $migrations ($dir/log/migrate.txt)
  ledger verify: $ledger ($dir/log/ledger-verify.txt)
  vault key: $vault_key
drill.target=$target
drill.target_epoch=$target_epoch
drill.url=$restored_url
drill.payments=$payments
drill.last_payment_id=$last_id
drill.last_payment_created=$last_created
drill.last_commit=$last_commit
drill.missing_before_target=$missing
drill.recovered=$recovered
drill.rpo_s=$rpo_s
drill.rto_s=$(seconds "$started" "$checked")
drill.migrations=$migrations
drill.ledger_verify=$ledger
drill.vault_key=$vault_key
REPORT
exit "$status"
