import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type Stripe from 'stripe';
import type { TestPlatform } from '../support/platform.js';
import { startTestPlatform } from '../support/platform.js';
import { SandboxWrapper } from '../support/sandbox-wrapper.js';
import { SandboxProcessor } from '../../src/services/connectors/adapters/sandbox.js';
import type { CaptureResult } from '../../src/services/connectors/index.js';
import { chargeIdOf } from '../support/stripe-objects.js';
import { freshMerchant, ruleAdmin } from '../support/risk.js';

/**
 * Approving a review whose capture answer is lost: the processor captured, Payrail never heard. The
 * approval's retry captures again under the same charge id, which the processor answers from its
 * record: the money moves once, the review closes once.
 */
class LosingConnector extends SandboxWrapper {
  override readonly name = 'losing-sandbox';
  lose_next_capture = 0;
  captures = 0;

  override async capture(attempt_id: string, amount: number): Promise<CaptureResult> {
    this.captures += 1;
    const result = await this.sandbox.capture(attempt_id, amount);
    if (this.lose_next_capture === 0) return result;
    this.lose_next_capture -= 1;
    throw new Error('connection reset after the processor captured');
  }
}

const connector = new LosingConnector();
let t: TestPlatform;
let merchant: Awaited<ReturnType<typeof freshMerchant>>;

beforeAll(async () => {
  t = await startTestPlatform({}, { connector });
  connector.sandbox = new SandboxProcessor({ pool: t.platform.database.pool });
  merchant = await freshMerchant(t);
  await ruleAdmin(t).add(merchant.merchant_id, 'Review if :amount_in_usd: > 500');
}, 60_000);
afterAll(async () => {
  await t?.stop();
});

async function approve(review_id: string, key: string): Promise<{ status: number; body: Record<string, unknown> }> {
  const response = await fetch(`${t.url}/v1/reviews/${review_id}/approve`, {
    method: 'POST',
    headers: { authorization: `Bearer ${merchant.secret_key}`, 'idempotency-key': key, 'content-type': 'application/x-www-form-urlencoded' },
    body: '',
  });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

describe('an approval whose capture answer is lost', () => {
  it('is retried with its key and captures once', async () => {
    const intent = await merchant.stripe.paymentIntents.create({ amount: 70_000, currency: 'usd', payment_method: 'pm_card_visa', confirm: true });
    const review_id = intent.review as string;
    connector.lose_next_capture = 1;
    const lost = await approve(review_id, 'approve-lost-1');
    expect(lost.status).toBeGreaterThanOrEqual(500);
    // The processor has the capture; Payrail's books do not yet.
    const sandbox = await t.owner.query<{ amount_captured: string }>('SELECT amount_captured FROM sandbox.attempts WHERE attempt_id = $1', [
      chargeIdOf(intent),
    ]);
    expect(Number(sandbox.rows[0]?.amount_captured)).toBe(70_000);
    expect((await merchant.stripe.reviews.retrieve(review_id)).open).toBe(true);

    const retried = await approve(review_id, 'approve-lost-1');
    expect(retried.status).toBe(200);
    expect(retried.body).toMatchObject({ id: review_id, open: false, closed_reason: 'approved' });
    expect(connector.captures).toBe(2);
    const charge = await merchant.stripe.charges.retrieve(chargeIdOf(intent));
    expect(charge).toMatchObject({ captured: true, amount_captured: 70_000 });
    const again = await t.owner.query<{ amount_captured: string }>('SELECT amount_captured FROM sandbox.attempts WHERE attempt_id = $1', [charge.id]);
    expect(Number(again.rows[0]?.amount_captured)).toBe(70_000);
    const events = (await merchant.stripe.events.list({ limit: 100 })).data;
    const about = (id: string) => events.filter((event) => (event.data.object as { id?: string }).id === id).map((event: Stripe.Event) => event.type);
    expect(about(charge.id).filter((type) => type === 'charge.captured')).toHaveLength(1);
    expect(about(review_id)).toEqual(['review.closed', 'review.opened']);
    // A replay of the same key answers the same review, and moves nothing more.
    expect((await approve(review_id, 'approve-lost-1')).body).toMatchObject({ id: review_id, closed_reason: 'approved' });
    expect(connector.captures).toBe(2);
  });
});
