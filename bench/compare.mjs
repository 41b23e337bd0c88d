// Side-by-side rows from one run's results: BENCH_BEFORE's build against this tree's, and each Payrail
// payment scenario against the baseline. Ratios only ever compare figures measured in the same run.
import { formatNumber } from './lib.mjs';
import { latencyCeiling_per_s } from './scenarios/payment-intents.mjs';

const COLUMN_WIDTH = 12;

/**
 * before | after | after ÷ before, for each variant both builds ran (payments and confirms, each
 * latency; the ledger lag where measured), then the recovery figures.
 */
export function beforeAfterRows(results, variants, connections) {
  const rows = [['', `${'before'.padStart(COLUMN_WIDTH)}${'after'.padStart(COLUMN_WIDTH)}   after ÷ before`]];
  for (const { name, latency_ms, label, per_s } of variants) {
    const before = results[`${name}_before`];
    const after = results[name];
    if (!before || !after) continue;
    const ceiling_per_s = latencyCeiling_per_s(connections, latency_ms);
    const at = `${label} ${latency_ms} ms:`;
    rows.push(
      [`${at} ${per_s}`, columns(before.requests_per_s, after.requests_per_s, 0)],
      ...(latency_ms > 0
        ? [
            [
              `${at} share of ${formatNumber(ceiling_per_s, 0)}/s ceiling`,
              columns(before.requests_per_s / ceiling_per_s, after.requests_per_s / ceiling_per_s, 2),
            ],
          ]
        : []),
      [`${at} latency p99 ms`, columns(before.latency_p99_ms, after.latency_p99_ms, 1)],
      [`${at} server CPU ms/op`, columns(before.costs.server_cpu_ms_per_op, after.costs.server_cpu_ms_per_op, 3)],
      [`${at} PostgreSQL CPU ms/op`, columns(before.costs.postgres_cpu_ms_per_op, after.costs.postgres_cpu_ms_per_op, 3)],
      [`${at} WAL bytes/op`, columns(before.costs.wal_bytes_per_op, after.costs.wal_bytes_per_op, 0)],
      [`${at} statements/op`, columns(before.costs.statements_per_op, after.costs.statements_per_op, 2)],
      [`${at} server writes/op`, columns(before.costs.server_writes_per_op, after.costs.server_writes_per_op, 2)],
    );
    if (before.lag && after.lag) {
      rows.push(
        [`${at} posting lag p50 ms`, columns(before.lag.lag_p50_ms, after.lag.lag_p50_ms, 1)],
        [`${at} posting lag p99 ms`, columns(before.lag.lag_p99_ms, after.lag.lag_p99_ms, 1)],
      );
    }
  }
  const before = results.recovery_kill_before;
  const after = results.recovery_kill;
  if (before && after) {
    rows.push(
      ['kill: keys in flight', columns(before.in_flight_keys, after.in_flight_keys, 0)],
      ['kill: restarted, /healthz ok ms', columns(before.ready_ms, after.ready_ms, 0)],
      ['kill: first payment ms', columns(before.first_success_ms, after.first_success_ms, 0)],
      ['kill: in-flight keys answered ms', columns(before.in_flight_answered_ms, after.in_flight_answered_ms, 0)],
    );
  }
  return rows;
}

/** Each Payrail payment scenario's throughput and costs per operation as multiples of the baseline's. */
export function baselineRows(results, variants, builds) {
  const baseline = results.baseline;
  if (!baseline) return [];
  const rows = [];
  for (const { name, latency_ms, consumers } of variants) {
    for (const build of builds) {
      const payrail = results[`${name}${build.suffix}`];
      if (!payrail) continue;
      const times = (value, base) => `×${formatNumber(value / base, 2)}`;
      rows.push([
        `${build.label || 'Payrail'}, ${latency_ms} ms${consumers === false ? ', API only' : ''}`,
        `payments/s ${times(payrail.requests_per_s, baseline.requests_per_s)}   server CPU/op ${times(payrail.costs.server_cpu_ms_per_op, baseline.costs.server_cpu_ms_per_op)}   PostgreSQL CPU/op ${times(payrail.costs.postgres_cpu_ms_per_op, baseline.costs.postgres_cpu_ms_per_op)}   WAL/op ${times(payrail.costs.wal_bytes_per_op, baseline.costs.wal_bytes_per_op)}   statements/op ${times(payrail.costs.statements_per_op, baseline.costs.statements_per_op)}   server writes/op ${times(payrail.costs.server_writes_per_op, baseline.costs.server_writes_per_op)}`,
      ]);
    }
  }
  if (rows.length === 0) return [];
  const { costs } = baseline;
  return [
    [
      'baseline itself',
      `${formatNumber(baseline.requests_per_s, 0)}/s, server CPU ${formatNumber(costs.server_cpu_ms_per_op, 3)} ms/op, PostgreSQL CPU ${formatNumber(costs.postgres_cpu_ms_per_op, 3)} ms/op, WAL ${formatNumber(costs.wal_bytes_per_op, 0)} B/op, ${formatNumber(costs.statements_per_op, 2)} statements/op, ${formatNumber(costs.server_writes_per_op, 2)} server writes/op`,
    ],
    ...rows,
  ];
}

/**
 * What the outbox consumers add to each payment at 0 ms: the full run's costs less the API-only run's
 * (PAYRAIL_CONSUMERS=off), per build. The consumers' work is deferred, so without them the same
 * machine serves more payments, and their cost per payment shows as the difference.
 */
export function consumersShareRows(results, builds) {
  const rows = [];
  for (const build of builds) {
    const full = results[`payments_0ms${build.suffix}`];
    const api_only = results[`payments_0ms_api${build.suffix}`];
    if (!full || !api_only) continue;
    const share = (pick, digits, unit) => {
      const added = pick(full.costs) - pick(api_only.costs);
      return `${formatNumber(added, digits)}${unit} (${formatNumber((100 * added) / pick(full.costs), 0)} %)`;
    };
    rows.push([
      build.label || 'Payrail',
      `server CPU ${share((c) => c.server_cpu_ms_per_op, 3, ' ms')}   PostgreSQL CPU ${share((c) => c.postgres_cpu_ms_per_op, 3, ' ms')}   WAL ${share((c) => c.wal_bytes_per_op, 0, ' B')}   payments/s without them ×${formatNumber(api_only.requests_per_s / full.requests_per_s, 2)}`,
    ]);
  }
  return rows;
}

function columns(before, after, digits) {
  return `${formatNumber(before, digits).padStart(COLUMN_WIDTH)}${formatNumber(after, digits).padStart(COLUMN_WIDTH)}   ×${formatNumber(after / before, 2)}`;
}
