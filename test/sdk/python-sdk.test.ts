import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestPlatform } from '../support/platform.js';
import { startTestPlatform } from '../support/platform.js';

/** Debian's interpreter, where `apt-get install python3-stripe` puts the SDK (.ci/run installs it). */
const DEBIAN_PYTHON = '/usr/bin/python3';
const FLOW = join(import.meta.dirname, 'python_flow.py');

interface PythonFlow {
  customer: { id: string; email: string; metadata: Record<string, string> };
  confirmed: { id: string; status: string; amount_received: number };
  captured: { before: string; after: string; amount_received: number };
  refund: { status: string; amount: number };
  declined: { code: string; decline_code: string; http_status: number } | null;
  listed: string[];
  idempotent: { first: string; replay: string };
}

let t: TestPlatform;
let flow: PythonFlow;
beforeAll(async () => {
  if (!existsSync(DEBIAN_PYTHON)) throw new Error(`${DEBIAN_PYTHON} is missing: install Debian's python3 and python3-stripe`);
  t = await startTestPlatform();
  const env = { ...process.env, PAYRAIL_URL: t.url, PAYRAIL_SECRET_KEY: t.secret_key };
  const { stdout } = await promisify(execFile)(DEBIAN_PYTHON, [FLOW], { env, timeout: 60_000 });
  flow = JSON.parse(stdout) as PythonFlow;
}, 120_000);
afterAll(async () => {
  await t?.stop();
});

describe("Debian's stripe-python against Payrail", () => {
  it('creates a customer with metadata', () => {
    expect(flow.customer.id).toMatch(/^cus_/);
    expect(flow.customer).toMatchObject({ email: 'py@example.com', metadata: { order: '42' } });
  });

  it('confirms with confirm=True, the boolean as stripe-python sends it', async () => {
    expect(flow.confirmed).toMatchObject({ status: 'succeeded', amount_received: 2000 });
    const stored = await t.stripe.paymentIntents.retrieve(flow.confirmed.id);
    expect(stored.status).toBe('succeeded');
  });

  it('captures part of a manual authorization', () => {
    expect(flow.captured).toEqual({ before: 'requires_capture', after: 'succeeded', amount_received: 1000 });
  });

  it('refunds part of a payment', () => {
    expect(flow.refund).toEqual({ status: 'succeeded', amount: 500 });
  });

  it('raises CardError for a declined card', () => {
    expect(flow.declined).toEqual({ code: 'card_declined', decline_code: 'generic_decline', http_status: 402 });
  });

  it("lists the customer's payments", () => {
    expect(flow.listed).toEqual([flow.confirmed.id]);
  });

  it('replays a create sent twice with one idempotency_key', () => {
    expect(flow.idempotent.replay).toBe(flow.idempotent.first);
  });
});
