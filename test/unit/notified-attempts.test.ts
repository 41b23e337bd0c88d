import { describe, expect, it } from 'vitest';
import { authorizationReferences } from '../../src/services/connectors/domain/notified-attempts.js';
import type { ProcessorEvent } from '../../src/services/connectors/domain/port.js';

const authorized = (reference: string): ProcessorEvent => ({
  kind: 'authorization',
  reference,
  processor_reference: `psp_${reference}`,
  result: { outcome: 'authorized', captured: true, cvc_check: 'pass' },
});

describe('authorizationReferences', () => {
  it('names each authorized reference once, in order, and ignores captures, refunds and disputes', () => {
    const events: ProcessorEvent[] = [
      { kind: 'capture', reference: 'ch_b', success: true, processor_reference: 'psp_b' },
      authorized('ch_b'),
      authorized('ch_a_2'),
      authorized('ch_b'),
      { kind: 'refund', reference: 're_1', success: true, processor_reference: 'psp_r' },
      {
        type: 'dispute.opened',
        id: 'adyen_dispute_1',
        processor: 'adyen',
        attempt_id: 'ch_c',
        merchant_id: 'acct_1',
        created_ms: 1,
        dispute: { amount: 100, currency: 'eur', reason: 'fraudulent', inquiry: false },
      },
    ];
    expect(authorizationReferences(events)).toEqual(['ch_b', 'ch_a_2']);
  });

  it('names nothing for a batch without authorizations', () => {
    expect(authorizationReferences([{ kind: 'cancel', reference: 'ch_x', success: true, processor_reference: 'psp' }])).toEqual([]);
  });
});
