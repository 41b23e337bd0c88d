import { execFile } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestDatabase } from '../support/database.js';
import { createTestDatabase } from '../support/database.js';
import { freePort, serverEnv, startServerProcess } from '../support/processes.js';

/**
 * The real server (dist/main.js, built by `npm test`) is SIGKILLed while disputes are being closed
 * over HTTP, decided by the scheduled job and posted by the ledger (held back first, so a backlog
 * of dispute events is posting when the kill lands). After a restart and the clients' retries (same
 * Idempotency-Keys), every dispute has exactly one withdrawal, every won one exactly one reversal,
 * one closing event each, and `payrail ledger verify` (dist/cli.js) reconciles them all.
 */
const SECRET_KEY = 'sk_test_disputesCrash0000000000001';
const DISPUTES = 30;
const CONCURRENCY = 10;
const WAIT_LIMIT_MS = 45_000;
const CONSUMER_LOCK = 'payrail.consumer:ledger';

let database: TestDatabase;
let data_dir: string;
let port: number;
let server: ChildProcess | undefined;
let db: pg.Client;

const env = (): NodeJS.ProcessEnv => serverEnv({ port, database_url: database.url, data_dir, secret_key: SECRET_KEY });

async function kill(child: ChildProcess): Promise<void> {
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGKILL');
  await exited;
}

async function api(method: string, path: string, body = '', idempotency_key?: string): Promise<{ status: number; json: Record<string, unknown> }> {
  const response = await fetch(`http://127.0.0.1:${port}${path}`, {
    method,
    ...(method === 'GET' ? {} : { body }),
    headers: {
      authorization: `Bearer ${SECRET_KEY}`,
      'content-type': 'application/x-www-form-urlencoded',
      ...(idempotency_key ? { 'idempotency-key': idempotency_key } : {}),
    },
  });
  return { status: response.status, json: (await response.json()) as Record<string, unknown> };
}

async function count(sql: string, values: unknown[] = []): Promise<number> {
  return Number((await db.query<{ n: string }>(sql, values)).rows[0]?.n ?? -1);
}

async function waitFor(what: string, check: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + WAIT_LIMIT_MS;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** Half the disputes are accepted (closed), half answered with winning evidence. */
function answer(id: string, i: number): Promise<{ status: number; json: Record<string, unknown> }> {
  return i % 2 === 0
    ? api('POST', `/v1/disputes/${id}/close`, '', `close-${id}`)
    : api('POST', `/v1/disputes/${id}`, 'evidence[uncategorized_text]=winning_evidence', `answer-${id}`);
}

/** Retries until the answer is stored: 200, or a refusal saying the first attempt already applied. */
async function answerUntilDone(id: string, i: number): Promise<void> {
  await waitFor(`the answer to ${id}`, async () => {
    const reply = await answer(id, i).catch(() => ({ status: 0, json: {} }));
    return reply.status === 200;
  });
}

function verify(): Promise<{ code: number; stdout: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, ['dist/cli.js', 'ledger', 'verify'], { env: env() }, (error, stdout) => {
      resolve({ code: error ? Number((error as { code?: number }).code ?? 1) : 0, stdout });
    });
  });
}

beforeAll(async () => {
  if (!existsSync('dist/services/disputes/index.js')) throw new Error('dist/ is missing the disputes service: run `npm run build` (npm test does) first');
  database = await createTestDatabase();
  data_dir = mkdtempSync(join(tmpdir(), 'payrail-disputes-crash-'));
  port = await freePort();
});

afterAll(async () => {
  server?.kill('SIGKILL');
  await db?.end().catch(() => {});
  await database?.drop();
  rmSync(data_dir, { recursive: true, force: true });
});

describe('a server killed while disputes close and post', () => {
  it('moves every dispute’s money exactly once after restart, and ledger verify passes', { timeout: 150_000 }, async () => {
    server = await startServerProcess(env(), port);
    db = new pg.Client({ connectionString: database.url });
    db.on('error', () => {});
    await db.connect();
    // The ledger is held back (its consumer's advisory lock) so the dispute events build a backlog.
    await db.query('SELECT pg_advisory_lock(hashtextextended($1, 0))', [CONSUMER_LOCK]);
    for (let i = 0; i < DISPUTES; i += CONCURRENCY) {
      await Promise.all(
        Array.from({ length: Math.min(CONCURRENCY, DISPUTES - i) }, async (_, k) => {
          const paid = await api('POST', '/v1/payment_intents', `amount=${2000 + i + k}&currency=usd&payment_method=pm_card_createDispute&confirm=true`);
          expect(paid.status).toBe(200);
        }),
      );
    }
    await waitFor('every dispute to open', async () => (await count('SELECT count(*) AS n FROM disputes.disputes')) === DISPUTES);
    const ids = (await db.query<{ id: string }>('SELECT id FROM disputes.disputes ORDER BY id')).rows.map((r) => r.id);

    // Answer all at once; as the first answer comes back, let the ledger go and kill the server: most
    // answers are in flight, and the decision job (every second) has decided none or few of them.
    const answers = ids.map((id, i) => answer(id, i).catch(() => undefined));
    await Promise.race(answers);
    await db.query('SELECT pg_advisory_unlock(hashtextextended($1, 0))', [CONSUMER_LOCK]);
    await kill(server);
    server = undefined;
    await Promise.all(answers);
    expect(await count(`SELECT count(*) AS n FROM disputes.disputes WHERE status = 'won'`)).toBeLessThan(DISPUTES / 2);

    server = await startServerProcess(env(), port);
    await Promise.all(ids.map((id, i) => answerUntilDone(id, i)));
    await waitFor('every decision', async () => (await count(`SELECT count(*) AS n FROM disputes.disputes WHERE status IN ('won', 'lost')`)) === DISPUTES);
    await waitFor(
      'the ledger to catch up',
      async () => (await count('SELECT count(*) AS n FROM ledger.transfers WHERE kind = $1', ['dispute_reversal'])) === DISPUTES / 2,
    );

    expect(await count(`SELECT count(*) AS n FROM disputes.disputes WHERE status = 'lost'`)).toBe(DISPUTES / 2);
    expect(await count(`SELECT count(*) AS n FROM disputes.disputes WHERE status = 'won'`)).toBe(DISPUTES / 2);
    // Exactly one withdrawal per dispute, one reversal per won one, one closing event each.
    expect(await count('SELECT count(*) AS n FROM ledger.transfers WHERE kind = $1', ['dispute'])).toBe(DISPUTES);
    expect(await count(`SELECT count(DISTINCT source_id) AS n FROM ledger.transfers WHERE kind = 'dispute'`)).toBe(DISPUTES);
    expect(await count(`SELECT count(*) AS n FROM events.outbox WHERE type = 'charge.dispute.closed'`)).toBe(DISPUTES);
    expect(await count(`SELECT count(*) AS n FROM events.outbox WHERE type = 'charge.dispute.funds_reinstated'`)).toBe(DISPUTES / 2);
    expect(await count(`SELECT count(*) AS n FROM events.outbox WHERE type = 'charge.dispute.updated'`)).toBe(DISPUTES / 2);

    const report = await verify();
    expect(report.stdout).toMatch(/^ledger verify: OK\n/);
    expect(report.stdout).toContain(`${DISPUTES} disputes with funds moved reconciled with the disputes service`);
    expect(report.code).toBe(0);
  });
});
