// What bench/scale.mjs measures besides throughput: each process's CPU time from /proc, and the event
// consumers' lag (outbox consumers in PostgreSQL, JetStream consumers against the stream's last sequence).
import { readFileSync } from 'node:fs';

const CLOCK_TICKS_PER_S = 100; // USER_HZ on Linux: /proc/<pid>/stat counts CPU time in these ticks
const LAG_SAMPLE_MS = 500;

/** User + system CPU time of one process so far, in µs; undefined once it has gone. */
export function cpuTime_us(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1_000_000) / CLOCK_TICKS_PER_S;
  } catch {
    return undefined;
  }
}

/** CPU time per named process, plus the database's backends serving this database (named `postgres`). */
export async function cpuSnapshot(pool, pids) {
  const { rows } = await pool.query(`SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()`);
  const snapshot = {};
  for (const [name, pid] of Object.entries(pids)) snapshot[name] = cpuTime_us(pid);
  snapshot.backends = Object.fromEntries(rows.map((row) => [row.pid, cpuTime_us(row.pid)]));
  return snapshot;
}

/** CPU µs each process spent between two snapshots; backends are counted where both snapshots saw them. */
export function cpuSpent_us(before, after) {
  const spent = {};
  for (const name of Object.keys(after)) {
    if (name === 'backends') continue;
    if (before[name] !== undefined && after[name] !== undefined) spent[name] = after[name] - before[name];
  }
  spent.postgres = Object.entries(after.backends)
    .filter(([pid, time]) => before.backends[pid] !== undefined && time !== undefined)
    .reduce((sum, [pid, time]) => sum + time - before.backends[pid], 0);
  return spent;
}

/** The stream's last sequence, the highest any NATS node reports (each reports the streams it hosts). */
async function streamLastSeq(monitor_urls) {
  let last = 0;
  for (const url of monitor_urls) {
    const body = await fetch(`${url}/jsz?streams=true`).then(
      (response) => response.json(),
      () => undefined,
    );
    for (const account of body?.account_details ?? []) for (const stream of account.stream_detail ?? []) last = Math.max(last, stream.state.last_seq);
  }
  return last;
}

/** Events each consumer has yet to apply, right now. */
export async function consumerLag(pool, monitor_urls) {
  const stream_last = await streamLastSeq(monitor_urls);
  const { rows } = await pool.query(
    `SELECT 'outbox:' || consumer AS consumer, greatest((SELECT coalesce(max(seq), 0) FROM events.outbox) - seq, 0)::int AS lag FROM events.consumer_offsets
      -- A consumer the NATS binding runs keeps its position in jetstream_positions; its outbox row is idle.
      WHERE consumer NOT IN (SELECT consumer FROM events.jetstream_positions) AND consumer NOT LIKE 'nats_relay.%'
     UNION ALL
     SELECT 'relay', greatest((SELECT coalesce(max(seq), 0) FROM events.outbox) - seq, 0)::int FROM events.consumer_offsets WHERE consumer LIKE 'nats_relay.%'
     UNION ALL
     SELECT 'jetstream:' || consumer, greatest($1 - stream_seq, 0)::int FROM events.jetstream_positions`,
    [stream_last],
  );
  return Object.fromEntries(rows.map((row) => [row.consumer, row.lag]));
}

/** Samples consumer lag until stopped; returns the highest lag each consumer showed. */
export function sampleLag(pool, monitor_urls) {
  const highest = {};
  let stopped = false;
  const loop = (async () => {
    while (!stopped) {
      for (const [consumer, lag] of Object.entries(await consumerLag(pool, monitor_urls))) highest[consumer] = Math.max(highest[consumer] ?? 0, lag);
      await new Promise((resolve) => setTimeout(resolve, LAG_SAMPLE_MS));
    }
  })();
  return async () => {
    stopped = true;
    await loop;
    return highest;
  };
}
