import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import pg from 'pg';
import qs from 'qs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestPlatform } from '../support/platform.js';
import { startTestPlatform } from '../support/platform.js';
import type { Operation } from './openapi-arbitrary.js';
import { operationParams, requestParams } from './openapi-arbitrary.js';
import { SPEC_FILE, probeCoverage } from '../../scripts/stripe-coverage.mjs';

/**
 * Requests generated from Stripe's OpenAPI description for every operation Payrail serves, with the
 * bad-input classes of the security review mixed in. FUZZ_RUNS sets how many (CI: 2,000; on demand:
 * `FUZZ_RUNS=100000 npx vitest run test/fuzz`); FUZZ_PATHS (comma-separated path prefixes, e.g.
 * `/v1/products,/v1/prices`) fuzzes only those operations. Every answer must be below 500; a refused request
 * (400) must store nothing; no answer and no log line may carry a secret.
 */
const RUNS = Number(process.env.FUZZ_RUNS ?? 2_000);
const SEED = process.env.FUZZ_SEED === undefined ? undefined : Number(process.env.FUZZ_SEED);
const PATHS = process.env.FUZZ_PATHS?.split(',').filter((prefix) => prefix !== '');
const CARD_NUMBER = '4000056655665556';

interface Spec {
  paths: Record<string, Record<string, unknown>>;
  components: { schemas: Record<string, never> };
}
const spec = JSON.parse(readFileSync(SPEC_FILE, 'utf8')) as Spec;

let t: TestPlatform;
let admin: pg.Pool;
let operations: Map<string, Operation>;
let ids: string[];
let webhook_secret: string;

beforeAll(async () => {
  t = await startTestPlatform({ rate_limit_per_s: 1_000_000, rate_limit_burst: 1_000_000 });
  admin = new pg.Pool({ connectionString: t.config.database_url, max: 2 });
  const probed = (await probeCoverage(t.url, t.secret_key, spec)).filter(
    (operation) => operation.served && (PATHS === undefined || PATHS.some((prefix) => operation.path.startsWith(prefix))),
  );
  operations = new Map(
    probed.map(({ method, path }) => {
      const operation: Operation = { method: method, path, params: operationParams(spec.paths[path]!, method) };
      return [`${method} ${path}`, operation];
    }),
  );
  ids = await seedObjects();
}, 120_000);
afterAll(async () => {
  await admin?.end();
  await t?.stop();
});

/** One object of each kind, so generated ids reach past "no such object" into each use case. */
async function seedObjects(): Promise<string[]> {
  const customer = await t.stripe.customers.create({ email: 'fuzz@example.com' });
  const method = await t.stripe.paymentMethods.create({ type: 'card', card: { number: CARD_NUMBER, exp_month: 12, exp_year: 2040, cvc: '123' } });
  const paid = await t.stripe.paymentIntents.create({ amount: 5000, currency: 'usd', payment_method: 'pm_card_visa', confirm: true });
  const open = await t.stripe.paymentIntents.create({ amount: 700, currency: 'usd', customer: customer.id });
  const refund = await t.stripe.refunds.create({ payment_intent: paid.id, amount: 100 });
  const endpoint = await t.stripe.webhookEndpoints.create({ url: 'https://example.com/hooks', enabled_events: ['*'] });
  webhook_secret = endpoint.secret!;
  const charge = typeof paid.latest_charge === 'string' ? paid.latest_charge : paid.latest_charge!.id;
  const dispute = await seedDispute();
  const price = await t.stripe.prices.create({ currency: 'usd', unit_amount: 100, product_data: { name: 'Fuzz' }, lookup_key: 'fuzz' });
  const product = price.product as string;
  return [customer.id, method.id, paid.id, open.id, refund.id, endpoint.id, charge, dispute, product, price.id, 'pm_card_visa', 'nonexistent_id'];
}

/** A dispute opened the way the sandbox opens one: a dispute card, then the processor's notification. */
async function seedDispute(): Promise<string> {
  const disputed = await t.stripe.paymentIntents.create({ amount: 3000, currency: 'usd', payment_method: 'pm_card_createDispute', confirm: true });
  const deadline = Date.now() + 20_000;
  for (;;) {
    const found = (await t.stripe.disputes.list({ payment_intent: disputed.id })).data[0];
    if (found) return found.id;
    if (Date.now() > deadline) throw new Error('the seeded dispute never opened');
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** Rows in the tables that only requests write; a refused request must leave the sum unchanged. */
async function storedRows(): Promise<number> {
  const tables = await admin.query<{ name: string }>(
    `SELECT format('%I.%I', table_schema, table_name) AS name FROM information_schema.tables
      WHERE table_type = 'BASE TABLE' AND (table_schema IN ('payments', 'vault', 'risk', 'disputes')
        OR (table_schema, table_name) IN (('events', 'webhook_endpoints'), ('billing', 'products'), ('billing', 'prices')))`,
  );
  const counts = tables.rows.map((table) => `(SELECT count(*) FROM ${table.name})`).join(' + ');
  const result = await admin.query<{ total: string }>(`SELECT ${counts} AS total`);
  return Number(result.rows[0]!.total);
}

/** Bodies that are not a parameter set at all: too deep to parse recursively, cut short, or not JSON. */
const RAW_JSON_BODIES = [
  '{"a":'.repeat(50_000) + '1' + '}'.repeat(50_000),
  '['.repeat(100_000),
  '{"amount": 1',
  'not json',
  '{"metadata":{"__proto__":{"x":1}}}',
];

interface Answer {
  status: number;
  text: string;
}

interface Sent {
  /** `METHOD /path`, a key of `operations`; short, so a counterexample stays readable. */
  operation: string;
  params: Record<string, unknown>;
  path_id: string;
  key: string | null;
  json: boolean;
  raw: string | null;
}

/** Payrail takes form bodies, as Stripe does, and JSON bodies; both parsers get the bad inputs. */
async function send(sent: Sent): Promise<Answer> {
  const operation = operations.get(sent.operation)!;
  const path = operation.path.replace(/\{[^}]+\}/g, encodeURIComponent(sent.path_id));
  const encoded = qs.stringify(sent.params, { arrayFormat: 'indices' });
  const headers: Record<string, string> = { authorization: `Bearer ${t.secret_key}` };
  if (sent.key !== null) headers['idempotency-key'] = sent.key;
  const init: RequestInit = { method: operation.method, headers };
  if (operation.method === 'POST') {
    headers['content-type'] = sent.json ? 'application/json' : 'application/x-www-form-urlencoded';
    init.body = sent.json ? (sent.raw ?? JSON.stringify(sent.params)) : encoded;
  }
  const url = operation.method === 'POST' || encoded === '' ? `${t.url}${path}` : `${t.url}${path}?${encoded}`;
  const response = await fetch(url, init);
  return { status: response.status, text: await response.text() };
}

describe(`requests generated from Stripe's OpenAPI description (${RUNS} runs)`, () => {
  it('finds operations to fuzz', () => {
    expect(operations.size).toBeGreaterThan(PATHS === undefined ? 30 : 0);
  });

  it('refuses values shaped like objects whose methods are overwritten, in every list parameter', async () => {
    for (const query of ['limit[toString]=x', 'limit[valueOf]=x', 'created[toString]=x', 'starting_after[toString]=x', 'expand[toString]=x']) {
      const answer = await fetch(`${t.url}/v1/balance_transactions?${query}`, { headers: { authorization: `Bearer ${t.secret_key}` } });
      expect(answer.status, `${query}: ${await answer.clone().text()}`).toBe(400);
      expect(((await answer.json()) as { error: { type: string } }).error.type).toBe('invalid_request_error');
    }
  });

  it('never answers 5xx, stores nothing when it refuses, and never shows a secret', async () => {
    const request: fc.Arbitrary<Sent> = fc.constantFrom(...operations.keys()).chain((name) =>
      fc.record({
        operation: fc.constant(name),
        params: requestParams(spec, operations.get(name)!, fc.constantFrom(...ids)),
        path_id: fc.constantFrom(...ids),
        key: fc.option(fc.uuid()),
        json: fc.boolean(),
        raw: fc.option(fc.constantFrom(...RAW_JSON_BODIES), { freq: 10 }),
      }),
    );
    const property = fc.asyncProperty(request, async (sent) => {
      const operation = operations.get(sent.operation)!;
      const before = operation.method === 'POST' ? await storedRows() : 0;
      const answer = await send(sent);
      expect(answer.status, `${operation.method} ${operation.path}: ${answer.text.slice(0, 300)}`).toBeLessThan(500);
      for (const secret of [t.secret_key, webhook_secret, CARD_NUMBER]) expect(answer.text).not.toContain(secret);
      if (answer.status >= 400) {
        const body = JSON.parse(answer.text) as { error?: { type?: string; message?: string } };
        expect(body.error?.type, answer.text).toMatch(/_error$/);
        expect(typeof body.error?.message).toBe('string');
      }
      if (operation.method === 'POST' && answer.status === 400) expect(await storedRows(), `${operation.path} stored rows while refusing`).toBe(before);
    });
    await fc.assert(property, { numRuns: RUNS, seed: SEED, endOnFailure: true });
    const logs = t.logs.join('');
    for (const secret of [t.secret_key, webhook_secret, CARD_NUMBER]) expect(logs).not.toContain(secret);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  }, 600_000);
});
