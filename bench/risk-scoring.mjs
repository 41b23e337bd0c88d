// Risk scoring cost: µs per `scorer.score()` (p50/p99/mean) with the embedded windows and with Redis,
// each beside a baseline measured in the same run the same way: a bare async call for the embedded
// store, a bare Redis PING for Redis (the round trip no Redis-backed scorer can beat). The windows are
// warmed first with a day of synthetic traffic, so the counts read are not empty. Part of
// `npm run bench` (group `risk`), or alone after a build: `node bench/risk-scoring.mjs`.
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { formatNumber, percentile, printBlock } from './lib.mjs';

const WARM_WORLD = { seed: 4242, days: 1, merchants: 20, payments_per_day: 3000, start_ms: Date.UTC(2026, 10, 9) };
const CALLS_MAX = 20_000;
const PHASE_MAX_S = 4;
export const SCORING_P99_LIMIT_US = 1000;

/** Times `fn(i)` call by call for up to `budget_s` or CALLS_MAX calls; µs, sorted. */
async function timeCalls(fn, budget_s) {
  const samples = [];
  const deadline = process.hrtime.bigint() + BigInt(Math.round(budget_s * 1e9));
  const cpu_before = process.cpuUsage();
  for (let i = 0; i < CALLS_MAX; i += 1) {
    const started = process.hrtime.bigint();
    await fn(i);
    const ended = process.hrtime.bigint();
    samples.push(Number(ended - started) / 1000);
    if (ended > deadline) break;
  }
  const cpu = process.cpuUsage(cpu_before);
  return { samples: samples.sort((a, b) => a - b), cpu_us: cpu.user + cpu.system };
}

/** Wall-clock percentiles, and this process's CPU per call (less moved by other load on the machine). */
function summary({ samples, cpu_us }) {
  const mean = samples.reduce((sum, x) => sum + x, 0) / samples.length;
  return {
    calls: samples.length,
    p50_us: percentile(samples, 0.5),
    p99_us: percentile(samples, 0.99),
    mean_us: mean,
    cpu_per_call_us: cpu_us / samples.length,
  };
}

function rows(label, measured, baseline_label, baseline) {
  const ratio = (a, b) => `${formatNumber(a / b, 1)}×`;
  return [
    [
      `${label} p50 / p99 µs`,
      `${formatNumber(measured.p50_us, 1)} / ${formatNumber(measured.p99_us, 1)} (mean ${formatNumber(measured.mean_us, 1)}, CPU ${formatNumber(measured.cpu_per_call_us, 1)} per call, ${measured.calls} calls)`,
    ],
    [
      `${baseline_label} p50 / p99 µs`,
      `${formatNumber(baseline.p50_us, 1)} / ${formatNumber(baseline.p99_us, 1)} (CPU ${formatNumber(baseline.cpu_per_call_us, 1)} per call, ${baseline.calls} calls)`,
    ],
    [`${label} ÷ baseline`, `p50 ${ratio(measured.p50_us, baseline.p50_us)}, p99 ${ratio(measured.p99_us, baseline.p99_us)}`],
  ];
}

/** A scorer warmed with a day of traffic; each store measured over the same attempts. */
async function measureStore(root_dir, transactions, redis, phase_s) {
  const { openRiskScorer } = await import(join(root_dir, 'dist/services/risk/index.js'));
  const { ManualClock } = await import(join(root_dir, 'dist/kernel/clock.js'));
  const clock = new ManualClock(transactions[0].created_ms);
  const errors = [];
  const scorer = await openRiskScorer({ clock, instance_id: 'bench', on_store_error: (e) => errors.push(e), ...redis });
  try {
    for (const t of transactions) {
      clock.advance(t.created_ms - clock.now_ms());
      await scorer.record(t.signals, t.result);
    }
    const attempts = transactions.slice(-2000).map((t) => t.signals);
    const score = await timeCalls((i) => scorer.score(attempts[i % attempts.length]), phase_s);
    const score_and_record = await timeCalls(async (i) => {
      const signals = attempts[i % attempts.length];
      await scorer.score(signals);
      await scorer.record(signals, 'authorized');
    }, phase_s / 2);
    return { score: summary(score), score_and_record: summary(score_and_record), errors };
  } finally {
    await scorer.close();
  }
}

/** Attempts that fill a busy card's windows past their 1,024-member cap before the busy phase is timed. */
const BUSY_FILL = 1200;

/**
 * A busy card at a busy merchant: one attempt's signals recorded BUSY_FILL times a second apart, so
 * its card, email, IP and merchant windows are full, then score() + record() timed on it: the case
 * where a store that walks its members costs most (the risk ratio scenario's traffic is like this).
 */
async function measureBusy(root_dir, transactions, phase_s) {
  const { openRiskScorer } = await import(join(root_dir, 'dist/services/risk/index.js'));
  const { ManualClock } = await import(join(root_dir, 'dist/kernel/clock.js'));
  const signals = transactions.find((t) => t.signals.email !== null && t.signals.customer_id !== null)?.signals ?? transactions[0].signals;
  const clock = new ManualClock(transactions[0].created_ms);
  const scorer = await openRiskScorer({ clock, instance_id: 'bench-busy' });
  try {
    for (let i = 0; i < BUSY_FILL; i += 1) {
      clock.advance(1000);
      await scorer.record(signals, 'authorized');
    }
    return summary(
      await timeCalls(async () => {
        clock.advance(1000);
        await scorer.score(signals);
        await scorer.record(signals, 'authorized');
      }, phase_s / 2),
    );
  } finally {
    await scorer.close();
  }
}

export const riskScoring = {
  name: 'risk',
  title: 'Risk scoring: µs per score() with embedded windows and with Redis, against a bare call / a bare Redis PING',

  async run(ctx) {
    const { generateTransactions } = await import(join(ctx.root_dir, 'dist/services/risk/training/index.js'));
    const transactions = generateTransactions(WARM_WORLD);
    const phase_s = Math.min(ctx.config.duration_s, PHASE_MAX_S);
    const problems = [];
    const metrics = {};
    const out = [['windows warmed with', `${transactions.length} synthetic attempts (one day, ${WARM_WORLD.merchants} merchants)`]];

    const bare = async (signals) => signals.amount;
    const baseline = summary(await timeCalls((i) => bare(transactions[i % transactions.length].signals), phase_s / 2));
    const embedded = await measureStore(ctx.root_dir, transactions, {}, phase_s);
    metrics.embedded = embedded.score;
    out.push(...rows('embedded: score()', embedded.score, 'bare async call', baseline));
    out.push([
      'embedded: score()+record() p50 / p99 µs',
      `${formatNumber(embedded.score_and_record.p50_us, 1)} / ${formatNumber(embedded.score_and_record.p99_us, 1)}`,
    ]);

    const busy = await measureBusy(ctx.root_dir, transactions, phase_s);
    metrics.embedded_busy = busy;
    out.push([
      'embedded, busy card: score()+record() µs',
      `p50 ${formatNumber(busy.p50_us, 1)} / p99 ${formatNumber(busy.p99_us, 1)} (CPU ${formatNumber(busy.cpu_per_call_us, 1)} per call, windows full)`,
    ]);

    const redis_url = process.env.REDIS_URL;
    if (!redis_url) {
      out.push(['Redis', 'not run (REDIS_URL unset)']);
    } else {
      const { Redis } = await import('ioredis');
      const prefix = `payrail-bench-${randomUUID()}:`;
      const client = new Redis(redis_url);
      try {
        const ping = summary(await timeCalls(() => client.ping(), phase_s / 2));
        const shared = await measureStore(ctx.root_dir, transactions, { redis_url, redis_prefix: prefix }, phase_s);
        if (shared.errors.length > 0)
          problems.push(`risk bench: Redis failed ${shared.errors.length} times (${shared.errors[0].message}); figures include the fallback`);
        metrics.redis = shared.score;
        out.push(...rows('Redis: score()', shared.score, 'bare Redis PING', ping));
        out.push([
          'Redis: score()+record() p50 / p99 µs',
          `${formatNumber(shared.score_and_record.p50_us, 1)} / ${formatNumber(shared.score_and_record.p99_us, 1)}`,
        ]);
      } finally {
        const keys = await client.keys(`${prefix}*`);
        for (let i = 0; i < keys.length; i += 500) await client.del(...keys.slice(i, i + 500));
        await client.quit();
      }
    }
    return { metrics, rows: out, problems };
  },
};

// Alone: `npm run build && node bench/risk-scoring.mjs` (BENCH_DURATION_S bounds each phase, default 4 s).
if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const root_dir = join(fileURLToPath(import.meta.url), '..', '..');
  const duration_s = Number(process.env.BENCH_DURATION_S) || PHASE_MAX_S;
  const { metrics, rows: out, problems } = await riskScoring.run({ root_dir, config: { duration_s } });
  printBlock(riskScoring.title, out);
  for (const [store, figures] of Object.entries(metrics).filter(([store]) => store !== 'embedded_busy')) {
    const pass = figures.p99_us < SCORING_P99_LIMIT_US;
    process.stdout.write(`${store}: p99 ${formatNumber(figures.p99_us, 1)} µs, target < ${SCORING_P99_LIMIT_US} µs: ${pass ? 'PASS' : 'MISS'}\n`);
  }
  if (problems.length > 0) {
    process.stdout.write(`${problems.join('\n')}\n`);
    process.exitCode = 1;
  }
}
