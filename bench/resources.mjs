// What an operation costs beyond its time: the server's CPU, PostgreSQL's CPU and the WAL written,
// each over the measured window and divided by the responses in it.
//
// - Server CPU: utime + stime of the server process (all its threads) from /proc/<pid>/stat.
// - PostgreSQL CPU: the same for the backends connected to the scenario's database (listed in
//   pg_stat_activity at the start and the end of the window). Only when PostgreSQL runs on this
//   machine in the same PID namespace; a backend that ends inside the window takes its CPU with it,
//   so the row says how many did. Background processes (WAL writer, checkpointer) are not counted.
// - WAL: pg_current_wal_lsn() before and after (pg_wal_lsn_diff). WAL is per server, not per database:
//   anything else writing on the same PostgreSQL in that window is counted too.
// - Statements: the calls pg_stat_statements counted for the scenario's database (top-level
//   statements, BEGIN and COMMIT included, the meter's own left out), when the extension is loaded
//   (the embedded server loads it). Each is one protocol exchange: a round trip unless pipelined.
// - Server reads and writes: the read- and write-type system calls of the server process, from
//   /proc/<pid>/io (syscr, syscw): every send to PostgreSQL, a client or NATS is one write. Unlike
//   CPU time they do not move with other load on the machine.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import pg from 'pg';
import { formatNumber } from './lib.mjs';

const DEFAULT_CLOCK_TICKS_PER_S = 100;
const MS_PER_S = 1000;
const CONNECT_TIMEOUT_MS = 10_000;
const QUERY_TIMEOUT_MS = 10_000;
/** Fields 14 and 15 of /proc/<pid>/stat, counted after the ")" that ends the command name (field 2). */
const UTIME_INDEX_AFTER_COMM = 11;
const STIME_INDEX_AFTER_COMM = 12;
/** Autovacuum workers are looked for this often during the window: their WAL counts, their CPU does not. */
const AUTOVACUUM_POLL_MS = 250;
const AUTOVACUUM_LISTED_MAX = 4;
/** The meter's own statements, left out of the statement count. */
const METER_STATEMENTS = 'pg_stat_activity|pg_current_wal_lsn|pg_wal_lsn_diff|pg_stat_statements';

const CLOCK_TICKS_PER_S = readClockTicksPerSecond();

function readClockTicksPerSecond() {
  try {
    const ticks = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim());
    return Number.isInteger(ticks) && ticks > 0 ? ticks : DEFAULT_CLOCK_TICKS_PER_S;
  } catch {
    return DEFAULT_CLOCK_TICKS_PER_S;
  }
}

/** CPU time (user + system, all threads) a process has used, in ms; undefined once it is gone. */
export function processCpu_ms(pid) {
  let stat;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ticks = Number(fields[UTIME_INDEX_AFTER_COMM]) + Number(fields[STIME_INDEX_AFTER_COMM]);
  return (ticks * MS_PER_S) / CLOCK_TICKS_PER_S;
}

/** Read- and write-type system calls a process has made so far; undefined once it is gone. */
export function processSyscalls(pid) {
  try {
    const fields = Object.fromEntries(
      readFileSync(`/proc/${pid}/io`, 'utf8')
        .trim()
        .split('\n')
        .map((line) => line.split(': ')),
    );
    return { reads: Number(fields.syscr), writes: Number(fields.syscw) };
  } catch {
    return undefined;
  }
}

/** Whether `pid` on this machine is a PostgreSQL process (so pg_stat_activity's pids are ours to read). */
function isLocalPostgres(pid) {
  try {
    return readFileSync(`/proc/${pid}/comm`, 'utf8').trim() === 'postgres';
  } catch {
    return false;
  }
}

/**
 * Starts measuring: call right before the measured load, and `stop()` right after it. Holds one
 * connection to `database_url` for the window (its own backend is left out of the sums).
 */
export async function startResourceMeter({ server_pid, database_url }) {
  const client = new pg.Client({
    connectionString: database_url,
    connectionTimeoutMillis: CONNECT_TIMEOUT_MS,
    query_timeout: QUERY_TIMEOUT_MS,
    application_name: 'payrail-bench-meter',
  });
  client.on('error', () => {}); // a lost meter connection shows as unmeasured figures, not a crash
  await client.connect();
  const sample = async () => {
    const wal = await client.query('SELECT pg_current_wal_lsn()::text AS lsn');
    const backends = await client.query('SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()');
    const backend_cpu_ms = new Map(backends.rows.map(({ pid }) => [pid, isLocalPostgres(pid) ? processCpu_ms(pid) : undefined]));
    return {
      server_cpu_ms: processCpu_ms(server_pid),
      server_syscalls: processSyscalls(server_pid),
      wal_lsn: wal.rows[0].lsn,
      backend_cpu_ms,
      statements: await statementsSoFar(client),
    };
  };
  const start = await sample();
  const autovacuum = watchAutovacuum(client);
  return {
    /** The costs over the window, divided by `operations`. */
    async stop(operations) {
      try {
        const autovacuum_runs = await autovacuum.stop();
        const end = await sample();
        const wal = await client.query('SELECT pg_wal_lsn_diff($1::pg_lsn, $2::pg_lsn)::text AS bytes', [end.wal_lsn, start.wal_lsn]);
        return { ...costs(start, end, Number(wal.rows[0].bytes), operations), autovacuum_runs };
      } finally {
        await client.end();
      }
    },
  };
}

/** Statements of others on this database pg_stat_statements counted so far; NaN without the extension. */
async function statementsSoFar(client) {
  try {
    const { rows } = await client.query(
      `SELECT coalesce(sum(calls), 0)::text AS calls FROM pg_stat_statements
        WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database()) AND NOT query ~ $1`,
      [METER_STATEMENTS],
    );
    return Number(rows[0].calls);
  } catch {
    return NaN;
  }
}

/**
 * Which autovacuum workers ran during the window, on any database of the server ("db: VACUUM table"):
 * the WAL they write is in the window's figure, so the block names them.
 */
function watchAutovacuum(client) {
  const seen = new Set();
  let polling = Promise.resolve();
  const poll = () => {
    polling = client
      .query("SELECT datname = current_database() AS ours, datname, query FROM pg_stat_activity WHERE backend_type = 'autovacuum worker'")
      .then(({ rows }) => rows.forEach((row) => seen.add(`${row.ours ? 'this database' : 'another database'}: ${row.query.replace(/^autovacuum: /, '')}`)))
      .catch(() => {}); // a missed sample only makes the list shorter
  };
  poll();
  const timer = setInterval(poll, AUTOVACUUM_POLL_MS);
  return {
    async stop() {
      clearInterval(timer);
      await polling;
      return [...seen];
    },
  };
}

function costs(start, end, wal_bytes, operations) {
  const postgres = postgresCpu(start.backend_cpu_ms, end.backend_cpu_ms);
  const server_cpu_ms = end.server_cpu_ms - start.server_cpu_ms;
  return {
    operations,
    server_cpu_ms,
    server_cpu_ms_per_op: server_cpu_ms / operations,
    postgres_cpu_ms: postgres.cpu_ms,
    postgres_cpu_ms_per_op: postgres.cpu_ms / operations,
    postgres_backends: postgres.backends,
    postgres_backends_ended: postgres.ended,
    wal_bytes,
    wal_bytes_per_op: wal_bytes / operations,
    statements_per_op: (end.statements - start.statements) / operations,
    server_reads_per_op: syscallsPerOp(start, end, 'reads', operations),
    server_writes_per_op: syscallsPerOp(start, end, 'writes', operations),
  };
}

function syscallsPerOp(start, end, kind, operations) {
  if (!start.server_syscalls || !end.server_syscalls) return NaN;
  return (end.server_syscalls[kind] - start.server_syscalls[kind]) / operations;
}

/** CPU the database's backends used in the window; NaN when they are not readable from here. */
function postgresCpu(start_ms, end_ms) {
  let cpu_ms = 0;
  for (const [pid, end] of end_ms) {
    if (end === undefined) return { cpu_ms: NaN, backends: end_ms.size, ended: 0 };
    cpu_ms += end - (start_ms.get(pid) ?? 0);
  }
  const ended = [...start_ms.keys()].filter((pid) => !end_ms.has(pid)).length;
  return { cpu_ms, backends: end_ms.size, ended };
}

/** Rows for a block; `wal_note` says whether others may write WAL on the same server. */
export function costRows(costs, wal_note) {
  const postgres = Number.isNaN(costs.postgres_cpu_ms)
    ? 'n/a (PostgreSQL is not a process on this machine)'
    : `${formatNumber(costs.postgres_cpu_ms_per_op, 3)}  (${costs.postgres_backends} backends of this database${costs.postgres_backends_ended > 0 ? `; ${costs.postgres_backends_ended} ended in the window, not counted` : ''})`;
  return [
    [
      'server CPU ms/op',
      `${formatNumber(costs.server_cpu_ms_per_op, 3)}  (utime+stime, ${formatNumber(costs.server_cpu_ms, 0)} ms over ${formatNumber(costs.operations)} responses)`,
    ],
    [
      'server reads / writes /op',
      Number.isNaN(costs.server_writes_per_op)
        ? 'n/a (/proc/<pid>/io is not readable)'
        : `${formatNumber(costs.server_reads_per_op, 2)} / ${formatNumber(costs.server_writes_per_op, 2)}  (system calls, /proc/<pid>/io; each send is a write)`,
    ],
    ['PostgreSQL CPU ms/op', postgres],
    ['WAL bytes/op', `${formatNumber(costs.wal_bytes_per_op, 0)}  (${formatNumber(costs.wal_bytes / 1024 / 1024, 1)} MB in the window; ${wal_note})`],
    [
      'statements/op',
      Number.isNaN(costs.statements_per_op)
        ? 'n/a (pg_stat_statements is not loaded on this server)'
        : `${formatNumber(costs.statements_per_op, 2)}  (pg_stat_statements, this database, BEGIN/COMMIT included; consumers' too)`,
    ],
    ['autovacuum in the window', autovacuumSummary(costs.autovacuum_runs)],
  ];
}

function autovacuumSummary(runs) {
  if (runs.length === 0) return `none seen (polled every ${AUTOVACUUM_POLL_MS} ms)`;
  const listed = runs.slice(0, AUTOVACUUM_LISTED_MAX).join('; ');
  return `${runs.length} (its WAL is in the figure above): ${listed}${runs.length > AUTOVACUUM_LISTED_MAX ? '; …' : ''}`;
}
