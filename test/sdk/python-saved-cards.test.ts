import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestPlatform } from '../support/platform.js';
import { startTestPlatform } from '../support/platform.js';

/** Debian's stripe-python through SetupIntents, off-session payments, tokens and legacy charges (python_saved_cards.py). */
const DEBIAN_PYTHON = '/usr/bin/python3';
const FLOW = join(import.meta.dirname, 'python_saved_cards.py');

interface SavedCardsFlow {
  setup: { status: string; payment_method: string };
  off_session: { status: string; amount_received: number };
  authentication_required: { code: string; http_status: number } | null;
  charge: { status: string; captured: boolean; payment_intent: string | null; source_brand: string };
  reused: { code: string; http_status: number } | null;
  declined: { code: string; decline_code: string; http_status: number } | null;
}

let t: TestPlatform;
let flow: SavedCardsFlow;
beforeAll(async () => {
  if (!existsSync(DEBIAN_PYTHON)) throw new Error(`${DEBIAN_PYTHON} is missing: install Debian's python3 and python3-stripe`);
  t = await startTestPlatform();
  const env = { ...process.env, PAYRAIL_URL: t.url, PAYRAIL_SECRET_KEY: t.secret_key };
  const { stdout } = await promisify(execFile)(DEBIAN_PYTHON, [FLOW], { env, timeout: 60_000 });
  flow = JSON.parse(stdout) as SavedCardsFlow;
}, 120_000);
afterAll(async () => {
  await t?.stop();
});

describe("Debian's stripe-python: saved cards, tokens and legacy charges", () => {
  it('saves a card with a SetupIntent confirmed with confirm=True', async () => {
    expect(flow.setup.status).toBe('succeeded');
    const method = await t.stripe.paymentMethods.retrieve(flow.setup.payment_method);
    expect(method.customer).toMatch(/^cus_/);
  });

  it('charges it with off_session=True, and a card that needs 3-D Secure raises CardError', () => {
    expect(flow.off_session).toEqual({ status: 'succeeded', amount_received: 1800 });
    expect(flow.authentication_required).toEqual({ code: 'authentication_required', http_status: 402 });
  });

  it('charges a token once with the legacy Charges API, and a declining test token raises CardError', () => {
    expect(flow.charge).toEqual({ status: 'succeeded', captured: true, payment_intent: null, source_brand: 'Visa' });
    expect(flow.reused).toEqual({ code: 'token_already_used', http_status: 400 });
    expect(flow.declined).toEqual({ code: 'card_declined', decline_code: 'generic_decline', http_status: 402 });
  });
});
