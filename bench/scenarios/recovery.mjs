// Recovery after a hard kill (BENCH_FAULTS=1): Payrail under load is SIGKILLed and restarted at once on
// the same database and port, while every client keeps retrying its payment with the same
// Idempotency-Key, as the Stripe SDKs do. Measured from the kill: when the first payment succeeds
// again, and when every key that was in flight at the kill has its answer.
import { setTimeout as sleep } from 'node:timers/promises';
import { withClient } from '../database.mjs';
import { formatNumber, freePort } from '../lib.mjs';
import { stopServer } from './common.mjs';
import { intentsByStatus, paymentRequest, payrailDataDir, payrailTitle, startPayrail } from './payment-intents.mjs';

/** Load before the kill, after the warm-up: enough for a steady state with every connection busy. */
const PRE_KILL_MAX_S = 3;
/** A key still unanswered this long after its first send is given up (the older build's stale lock is 60 s). */
const KEY_ANSWER_LIMIT_MS = 90_000;
const REQUEST_TIMEOUT_MS = 10_000;
/** While the server is down, a refused connection costs nothing: retry often, so the figures are sharp. */
const RECONNECT_DELAY_MS = 25;
/** Answers that mean "not yet" (409 key in use, 429, 5xx) back off, doubling up to the cap. */
const BUSY_RETRY_FIRST_MS = 25;
const BUSY_RETRY_MAX_MS = 250;
const NETWORK_ERROR = 0;
/** Beyond its load: a restart, the per-key limit and a last request, for the bench's watchdog. */
const RESTART_AND_ANSWER_BUDGET_S = 60 + (KEY_ANSWER_LIMIT_MS + REQUEST_TIMEOUT_MS) / 1000;

export function recoveryScenario(latency_ms, build) {
  const scenario_name = `recovery_kill${build.suffix}`;
  return {
    name: scenario_name,
    group: 'faults',
    extra_budget_s: RESTART_AND_ANSWER_BUDGET_S,
    title: payrailTitle(build, `SIGKILL under load (sandbox latency ${latency_ms} ms), restart at once, every key retried`),

    async run(ctx) {
      const database = await ctx.database_server.createDatabase();
      const port = await freePort();
      const data_dir = payrailDataDir(ctx);
      const server = await startPayrail(ctx, { build, database_url: database.url, latency_ms, port, data_dir });
      const clients = startRetryingClients({ ...paymentRequest(ctx, server.base_url), connections: ctx.config.connections });

      const loaded_s = ctx.config.warmup_s + Math.min(ctx.config.duration_s, PRE_KILL_MAX_S);
      await sleep(loaded_s * 1000);
      const answered_before_kill = clients.answeredKeys();
      const killed_at_ms = performance.now();
      const in_flight = clients.pendingKeys();
      process.kill(server.child.pid, 'SIGKILL');
      await server.child.exited;
      clients.serverGone();

      const restarted = await startPayrail(ctx, { build, database_url: database.url, latency_ms, port, data_dir });
      const ready_ms = performance.now() - killed_at_ms;
      const all_answered_at_ms = await clients.whenAnswered(in_flight);
      const outcome = await clients.stop();
      const stopped = await stopServer(restarted);

      const figures = {
        in_flight_keys: in_flight.length,
        ready_ms,
        first_success_ms: outcome.first_success_after_gone_ms - killed_at_ms,
        in_flight_answered_ms: all_answered_at_ms - killed_at_ms,
      };
      const checks = await checkDatabase(database.url, outcome);
      await database.drop(); // counted: nothing left for autovacuum to write WAL for in later windows
      const problems = build.suffix === '' ? [...recoveryProblems(scenario_name, figures, outcome), ...checks.problems] : [];
      return {
        metrics: figures,
        problems,
        rows: [
          [
            'load before the kill',
            `${formatNumber(answered_before_kill)} payments answered in ${formatNumber(loaded_s, 1)} s (warm-up included), ${ctx.config.connections} clients`,
          ],
          ['keys in flight at the kill', formatNumber(in_flight.length)],
          ['restarted, /healthz ok', `${formatNumber(ready_ms, 0)} ms after the kill (process start included; polled every 100 ms)`],
          ['first successful payment', `${formatNumber(figures.first_success_ms, 0)} ms after the kill`],
          [
            'every in-flight key answered',
            Number.isFinite(figures.in_flight_answered_ms)
              ? `${formatNumber(figures.in_flight_answered_ms, 0)} ms after the kill`
              : `NOT within ${KEY_ANSWER_LIMIT_MS / 1000} s of each key's first send`,
          ],
          [
            'retries',
            `${formatNumber(outcome.retries)} (answers while retrying: ${statusList(outcome.retry_statuses)}); back-off ${RECONNECT_DELAY_MS} ms on a refused connection, ${BUSY_RETRY_FIRST_MS}→${BUSY_RETRY_MAX_MS} ms on 409/429/5xx`,
          ],
          [
            'keys',
            `${formatNumber(outcome.keys_2xx)} answered 2xx, ${formatNumber(outcome.keys_failed)} refused for good, ${formatNumber(outcome.keys_given_up)} given up`,
          ],
          ...checks.rows,
          ['shutdown after recovery', `${stopped.exit} in ${formatNumber(stopped.stop_ms, 0)} ms`],
        ],
      };
    },
  };
}

function recoveryProblems(name, figures, outcome) {
  const problems = [];
  if (figures.in_flight_keys === 0) problems.push(`${name}: no key was in flight at the kill: nothing was measured`);
  if (!Number.isFinite(figures.in_flight_answered_ms)) problems.push(`${name}: keys in flight at the kill were not all answered`);
  if (outcome.keys_failed + outcome.keys_given_up > 0)
    problems.push(`${name}: ${outcome.keys_failed} keys refused for good, ${outcome.keys_given_up} given up`);
  return problems;
}

/** Each key answered 2xx is one succeeded intent, and (where the processor keeps a record) one authorization. */
async function checkDatabase(database_url, outcome) {
  const by_status = await intentsByStatus(database_url);
  const succeeded = by_status.succeeded ?? 0;
  const authorizations = await withClient(database_url, async (client) => {
    const schema = await client.query("SELECT 1 FROM information_schema.tables WHERE table_schema = 'sandbox' AND table_name = 'attempts'");
    if (schema.rowCount === 0) return undefined;
    return (await client.query('SELECT count(*)::int AS n FROM sandbox.attempts')).rows[0].n;
  });
  const problems = [];
  if (succeeded !== outcome.keys_2xx) problems.push(`recovery: MISMATCH ${succeeded} succeeded payment intents, ${outcome.keys_2xx} keys answered 2xx`);
  if (authorizations !== undefined && authorizations !== succeeded)
    problems.push(`recovery: MISMATCH ${authorizations} processor authorizations, ${succeeded} succeeded intents`);
  return {
    problems,
    rows: [
      [
        'intents by status',
        Object.entries(by_status)
          .map(([status, n]) => `${status}=${n}`)
          .join(' ') || 'none',
      ],
      [
        'succeeded vs keys 2xx',
        `${formatNumber(succeeded)} succeeded, ${formatNumber(outcome.keys_2xx)} keys 2xx ${succeeded === outcome.keys_2xx ? 'OK' : 'MISMATCH'}`,
      ],
      [
        'processor authorizations',
        authorizations === undefined
          ? 'not countable: this build keeps no processor record in the database'
          : `${formatNumber(authorizations)} attempts on the sandbox's record, ${formatNumber(succeeded)} succeeded intents ${authorizations === succeeded ? 'OK' : 'MISMATCH'}`,
      ],
    ],
  };
}

/**
 * `connections` clients, each paying with a fresh key and retrying that key until it has an answer:
 * on network errors, 409, 429 and 5xx, as an SDK with retries does. A 2xx counts as "after the
 * kill" only for a request sent once the old process was gone, so no late bytes from it count.
 */
function startRetryingClients({ url, headers, body, connections }) {
  const state = {
    stopping: false,
    gone_at_ms: Infinity,
    first_success_after_gone_ms: NaN,
    pending: new Set(),
    answered_at_ms: new Map(),
    retry_statuses: {},
    retries: 0,
    keys_failed: 0,
    keys_given_up: 0,
  };
  const key_prefix = `bench_kill_${Date.now().toString(36)}`;

  const send = async (key) => {
    const sent_at_ms = performance.now();
    try {
      const response = await fetch(url, {
        method: 'POST',
        headers: { ...headers, 'Idempotency-Key': key },
        body,
        signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
      });
      await response.arrayBuffer();
      return { status: response.status, sent_at_ms };
    } catch {
      return { status: NETWORK_ERROR, sent_at_ms };
    }
  };

  const payUntilAnswered = async (key) => {
    state.pending.add(key);
    const give_up_at_ms = performance.now() + KEY_ANSWER_LIMIT_MS;
    let busy_delay_ms = BUSY_RETRY_FIRST_MS;
    try {
      for (;;) {
        const { status, sent_at_ms } = await send(key);
        if (status >= 200 && status < 300) {
          state.answered_at_ms.set(key, performance.now());
          if (sent_at_ms > state.gone_at_ms && Number.isNaN(state.first_success_after_gone_ms)) state.first_success_after_gone_ms = performance.now();
          return;
        }
        if (!isRetryable(status)) {
          state.keys_failed += 1;
          return;
        }
        if (performance.now() > give_up_at_ms) {
          state.keys_given_up += 1;
          return;
        }
        state.retries += 1;
        state.retry_statuses[status] = (state.retry_statuses[status] ?? 0) + 1;
        await sleep(status === NETWORK_ERROR ? RECONNECT_DELAY_MS : busy_delay_ms);
        if (status !== NETWORK_ERROR) busy_delay_ms = Math.min(busy_delay_ms * 2, BUSY_RETRY_MAX_MS);
      }
    } finally {
      state.pending.delete(key);
    }
  };

  const workers = Array.from({ length: connections }, async (_, worker) => {
    for (let n = 1; !state.stopping; n += 1) await payUntilAnswered(`${key_prefix}_${worker}_${n}`);
  });

  return {
    answeredKeys: () => state.answered_at_ms.size,
    pendingKeys: () => [...state.pending],
    serverGone: () => {
      state.gone_at_ms = performance.now();
    },
    /** When the last of `keys` was answered 2xx; Infinity if one was refused or given up, NaN if none. */
    async whenAnswered(keys) {
      while (keys.some((key) => state.pending.has(key))) await sleep(RECONNECT_DELAY_MS);
      if (keys.length === 0) return NaN;
      return keys.every((key) => state.answered_at_ms.has(key)) ? Math.max(...keys.map((key) => state.answered_at_ms.get(key))) : Infinity;
    },
    /** Each client finishes its current key (bounded by the per-key limit), then the tallies. */
    async stop() {
      state.stopping = true;
      await Promise.all(workers);
      return {
        first_success_after_gone_ms: state.first_success_after_gone_ms,
        retries: state.retries,
        retry_statuses: state.retry_statuses,
        keys_2xx: state.answered_at_ms.size,
        keys_failed: state.keys_failed,
        keys_given_up: state.keys_given_up,
      };
    },
  };
}

function isRetryable(status) {
  return status === NETWORK_ERROR || status === 409 || status === 429 || status >= 500;
}

function statusList(counts) {
  const entries = Object.entries(counts).map(([status, n]) => `${Number(status) === NETWORK_ERROR ? 'network error' : status}×${n}`);
  return entries.join(' ') || 'none';
}
