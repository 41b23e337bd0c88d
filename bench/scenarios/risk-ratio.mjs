// What the risk engine costs the payments hot path: payments/s with risk on against risk off, in one
// run. Two servers of this tree run side by side, each on its own fresh database, sandbox latency 0:
// dist/main.js (risk on: every confirm scored and judged by the merchant's Radar rules) and
// bench/risk-off-server.mjs (a risk engine that scores nothing and has no rules). The measured time is
// split into short rounds in ABBA order (on, off, off, on, …), so a machine whose load drifts during
// the run weighs on both alike; only one server is loaded at a time. Throughput counts 2xx answers
// only. The servers' CPU per payment is shown too: on a busy machine it is the steadier figure.
import { formatNumber, freePort, loadProblems, runLoad } from '../lib.mjs';
import { startResourceMeter } from '../resources.mjs';
import { intentsByStatus, paymentRequest, startPayrail } from './payment-intents.mjs';
import { stopServer, uniqueHeader } from './common.mjs';

const ROUNDS = 8;
const ABBA = ['on', 'off', 'off', 'on'];

export function riskRatioScenario(build) {
  return {
    name: 'risk_ratio',
    group: 'risk',
    title: 'Payrail: risk on ÷ risk off, POST /v1/payment_intents confirm=true, sandbox latency 0 ms, alternating rounds',

    async run(ctx) {
      const servers = {};
      const databases = {};
      for (const side of ['on', 'off']) {
        databases[side] = await ctx.database_server.createDatabase();
        servers[side] = await startPayrail(ctx, { build, database_url: databases[side].url, latency_ms: 0, port: await freePort(), risk_off: side === 'off' });
      }
      const load = (side, duration_s) =>
        runLoad({
          ...paymentRequest(ctx, servers[side].base_url),
          setupRequest: uniqueHeader('Idempotency-Key', `bench_risk_${side}_${Math.random().toString(16).slice(2, 10)}`),
          connections: ctx.config.connections,
          duration_s,
        });
      const problems = [];
      const totals = { on: { ok: 0, window_s: 0, count_2xx: 0, cpu_ms: 0 }, off: { ok: 0, window_s: 0, count_2xx: 0, cpu_ms: 0 } };
      for (const side of ['on', 'off']) {
        const warmup = await load(side, ctx.config.warmup_s);
        problems.push(...loadProblems(`risk_ratio warm-up (risk ${side})`, warmup));
        totals[side].count_2xx += warmup.count_2xx;
      }
      const round_rows = [];
      for (let round = 0; round < ROUNDS; round += 1) {
        const side = ABBA[round % ABBA.length];
        const meter = await startResourceMeter({ server_pid: servers[side].child.pid, database_url: databases[side].url });
        const result = await load(side, (ctx.config.duration_s * 2) / ROUNDS);
        const costs = await meter.stop(Math.max(1, result.count_2xx));
        problems.push(...loadProblems(`risk_ratio round ${round + 1} (risk ${side})`, result));
        totals[side].ok += result.count_2xx;
        totals[side].cpu_ms += costs.server_cpu_ms;
        totals[side].window_s += result.window_s;
        totals[side].count_2xx += result.count_2xx;
        round_rows.push(`${side} ${formatNumber(result.count_2xx / result.window_s, 0)}`);
      }
      const status_rows = [];
      for (const side of ['on', 'off']) {
        const logged = { ...servers[side].child.log_counts };
        if (logged.error > 0) problems.push(`risk_ratio (risk ${side}): logged ${logged.error} error lines; last output:\n${servers[side].child.outputTail()}`);
        await stopServer(servers[side]);
        const by_status = await intentsByStatus(databases[side].url);
        const succeeded = by_status.succeeded ?? 0;
        status_rows.push([
          `risk ${side}: intents by status, log warn / error`,
          `${Object.entries(by_status)
            .map(([status, n]) => `${status}=${n}`)
            .join(' ')}; ${logged.warn} / ${logged.error}`,
        ]);
        await databases[side].drop();
        if (succeeded !== totals[side].count_2xx)
          problems.push(`risk_ratio (risk ${side}): MISMATCH ${succeeded} succeeded payment intents, ${totals[side].count_2xx} 2xx responses`);
      }
      const on_per_s = totals.on.ok / totals.on.window_s;
      const off_per_s = totals.off.ok / totals.off.window_s;
      const cpu_on = totals.on.cpu_ms / Math.max(1, totals.on.ok);
      const cpu_off = totals.off.cpu_ms / Math.max(1, totals.off.ok);
      return {
        metrics: { on_per_s, off_per_s, ratio: on_per_s / off_per_s, cpu_ms_per_op: { on: cpu_on, off: cpu_off } },
        problems,
        rows: [
          ['risk on payments/s', `${formatNumber(on_per_s, 0)} (${formatNumber(totals.on.ok)} 2xx in ${formatNumber(totals.on.window_s, 1)} s)`],
          ['risk off payments/s', `${formatNumber(off_per_s, 0)} (${formatNumber(totals.off.ok)} 2xx in ${formatNumber(totals.off.window_s, 1)} s)`],
          ['risk on ÷ risk off', formatNumber(on_per_s / off_per_s, 3)],
          ['server CPU ms/payment on / off', `${formatNumber(cpu_on, 3)} / ${formatNumber(cpu_off, 3)} (risk off ÷ on ${formatNumber(cpu_off / cpu_on, 3)})`],
          ['rounds (payments/s)', round_rows.join(', ')],
          ...status_rows,
        ],
      };
    },
  };
}
