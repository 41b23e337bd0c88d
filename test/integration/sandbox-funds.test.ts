import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Pool } from '../../src/platform/db.js';
import { SandboxProcessor } from '../../src/services/connectors/adapters/sandbox.js';
import type { AuthorizeRequest } from '../../src/services/connectors/domain/port.js';
import type { Envelope } from '../../src/services/events/adapters/nats/envelope.js';
import { parseEnvelope, toConsumed } from '../../src/services/events/adapters/nats/envelope.js';
import { createMigratedPool } from '../support/database.js';

/**
 * The sandbox's record of Stripe's 4000000000000077 (`pm_card_bypassPending`): its funds availability
 * outlives the first answer (a repeat, a status inquiry, an approval after 3-D Secure), and the record
 * holds only the answer, never the card. And the NATS binding hands the event's internal facts on.
 */

let pool: Pool;
let drop: () => Promise<void>;
beforeAll(async () => {
  const database = await createMigratedPool(4);
  pool = database.pool;
  drop = () => database.drop();
});
afterAll(async () => {
  await drop?.();
});

const BYPASS_PENDING = '4000000000000077';
let sequence = 0;

function request(number: string, overrides: Partial<AuthorizeRequest> = {}): AuthorizeRequest {
  sequence += 1;
  return {
    attempt_id: `ch_funds_${sequence}`,
    merchant_id: 'acct_test',
    amount: 2000,
    currency: 'usd',
    card: { number, exp_month: 12, exp_year: 2034, cvc: '123' },
    capture: true,
    ...overrides,
  };
}

describe('the sandbox keeps a card’s funds availability with its attempt', () => {
  it('answers funds: immediate on authorize, on a repeat and on a status inquiry; a normal card never', async () => {
    const processor = new SandboxProcessor({ pool });
    const attempt = request(BYPASS_PENDING);
    const first = await processor.authorize(attempt);
    expect(first).toEqual({ outcome: 'authorized', captured: true, cvc_check: 'pass', funds: 'immediate' });
    expect(await processor.authorize(attempt)).toEqual(first);
    expect(await processor.attemptStatus(attempt.attempt_id)).toMatchObject({ found: true, result: first, amount_captured: 2000 });
    const normal = request('4242424242424242');
    expect(await processor.authorize(normal)).not.toHaveProperty('funds');
    const stored = await pool.query<{ attempt_id: string; funds: string | null }>(
      `SELECT attempt_id, funds FROM sandbox.attempts WHERE attempt_id = ANY($1) ORDER BY attempt_id`,
      [[attempt.attempt_id, normal.attempt_id]],
    );
    expect(stored.rows).toEqual([
      { attempt_id: attempt.attempt_id, funds: 'immediate' },
      { attempt_id: normal.attempt_id, funds: null },
    ]);
    const everything = await pool.query(`SELECT * FROM sandbox.attempts`);
    expect(JSON.stringify(everything.rows)).not.toContain(BYPASS_PENDING);
  });

  it('keeps it through 3-D Secure asked by a rule, and only when authentication succeeds', async () => {
    const processor = new SandboxProcessor({ pool });
    const authenticated = request(BYPASS_PENDING, { three_d_secure: true, capture: false });
    expect(await processor.authorize(authenticated)).toEqual({ outcome: 'requires_action' });
    const approved = await processor.completeAuthentication(authenticated.attempt_id, true);
    expect(approved).toEqual({ outcome: 'authorized', captured: false, cvc_check: 'pass', funds: 'immediate' });
    expect(await processor.capture(authenticated.attempt_id, 1500)).toEqual({ outcome: 'captured', amount_captured: 1500 });
    const failed = request(BYPASS_PENDING, { three_d_secure: true });
    await processor.authorize(failed);
    expect(await processor.completeAuthentication(failed.attempt_id, false)).toMatchObject({ outcome: 'declined' });
    expect(await processor.completeAuthentication(failed.attempt_id, false)).not.toHaveProperty('funds');
  });
});

describe('the NATS binding hands internal facts to consumers', () => {
  const envelope = (request?: Envelope['request']): Uint8Array =>
    Buffer.from(
      JSON.stringify({
        id: 'evt_1',
        merchant_id: 'acct_1',
        type: 'charge.succeeded',
        created: 1,
        object_id: 'ch_1',
        data: { object: { id: 'ch_1' } },
        position: { xid: '10', seq: 1 },
        ...(request ? { request } : {}),
      }),
    );

  it('reads internal from the stored request envelope, and nothing else of it', () => {
    const parsed = parseEnvelope(envelope({ internal: { funds: 'immediate' } }));
    expect(parsed && toConsumed(parsed)).toMatchObject({ id: 'evt_1', internal: { funds: 'immediate' } });
    const plain = parseEnvelope(envelope({ traceparent: '00-abc' } as Envelope['request']));
    expect(plain && toConsumed(plain)).not.toHaveProperty('internal');
    expect(plain && toConsumed(plain)).not.toHaveProperty('request');
    const without = parseEnvelope(envelope());
    expect(without && toConsumed(without)).not.toHaveProperty('internal');
  });
});
