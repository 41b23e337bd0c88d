/** The chaos suite's per-fault figures and the printed table. */

/** After the restart, requests still count toward a fault for this long (clients retrying, HAProxy's health checks). */
const RECOVERY_GRACE_MS = 2_000;

/** Per fault: payments and HTTP answers inside its window, the error rate, and how long until payments succeed again. */
export function faultRows(faults, payments, responses) {
  return faults.map((fault) => {
    const window_end_ms = fault.restarted_ms + RECOVERY_GRACE_MS;
    const inside = payments.filter((payment) => payment.started_ms >= fault.killed_ms && payment.started_ms < window_end_ms);
    const answers = responses.filter((response) => response.at_ms >= fault.killed_ms && response.at_ms < window_end_ms);
    const first_success = payments
      .filter((payment) => payment.started_ms >= fault.killed_ms && payment.status === 'succeeded')
      .reduce((earliest, payment) => Math.min(earliest, payment.ended_ms), Infinity);
    return {
      kind: fault.kind,
      target: fault.target,
      at_s: fault.at_s,
      down_s: fault.down_s,
      restart_s: (fault.restarted_ms - fault.killed_ms) / 1_000,
      payments: inside.length,
      failed: inside.filter((payment) => payment.error !== undefined).length,
      http_answers: answers.length,
      http_errors: answers.filter((response) => response.status >= 500).length,
      recovered_s: Number.isFinite(first_success) ? (first_success - fault.killed_ms) / 1_000 : null,
    };
  });
}

export function printReport(result) {
  const rate = (part, whole) => (whole === 0 ? '-' : `${((100 * part) / whole).toFixed(1)}%`);
  const lines = [
    '',
    `Chaos run: seed ${result.seed}, ${result.duration_s} s, ${result.payments} payments (${result.failed_after_retries} failed after the SDK's retries)`,
    '',
    'fault           target                              at s   down s  back s  payments  failed  http 5xx      ok again s',
    ...result.faults.map((row) =>
      [
        row.kind.padEnd(15),
        row.target.padEnd(35),
        String(row.at_s).padStart(5),
        String(row.down_s).padStart(7),
        row.restart_s.toFixed(1).padStart(7),
        String(row.payments).padStart(9),
        rate(row.failed, row.payments).padStart(7),
        `${row.http_errors}/${row.http_answers}`.padStart(9),
        (row.recovered_s === null ? 'never' : row.recovered_s.toFixed(2)).padStart(15),
      ].join(' '),
    ),
    '',
    'check                                   result',
    `acknowledged payments lost              ${result.lost.lost} of ${result.lost.acknowledged}`,
    `customers charged twice                 ${result.charged_twice.twice} of ${result.charged_twice.keys} keys (processor authorized ${result.charged_twice.processor_authorized})`,
    `ledger verify                           ${result.ledger.clean ? 'clean' : `FAILED: ${result.ledger.output}`}`,
    `events delivered at least once          ${result.events.expected - result.events.missing} of ${result.events.expected} (${result.events.redelivered} redelivered)`,
    `events applied once                     ${result.events.applied} applied, ${result.events.unexpected} unexpected, ${result.bad_signatures} bad signatures`,
    `events stream replicas current          ${result.stream.current} of ${result.stream.replicas} (${result.stream.stream})`,
    '',
  ];
  process.stdout.write(lines.join('\n') + '\n');
}
