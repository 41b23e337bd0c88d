import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import * as Dispute from '../../src/services/disputes/domain/dispute.js';
import { MalformedDisputeEvent, disputeFee, disputeTransfer, disputeTransfers } from '../../src/services/ledger/domain/dispute-flows.js';
import { disputeProblem } from '../../src/services/ledger/domain/dispute-reconcile.js';
import { balanceEffect, validateTransfer } from '../../src/services/ledger/domain/transfer.js';

/** The dispute lifecycle and its ledger flows, as pure code: every reachable state moves the money Stripe's rules say. */

const NOW = 1_800_000_000;

function opened(inquiry: boolean, amount: number): Dispute.Dispute {
  return Dispute.open(
    {
      id: 'dp_01JDISPUTE000000000000000',
      merchant_id: 'acct_1',
      charge: 'ch_1',
      payment_intent: 'pi_1',
      amount,
      currency: 'usd',
      reason: 'fraudulent',
      inquiry,
      card_brand: 'visa',
      opened_by: 'sandbox:n1',
    },
    NOW,
  );
}

type Action = { kind: 'stage' | 'submit'; text: string } | { kind: 'close' } | { kind: 'decide' } | { kind: 'metadata' };

const action: fc.Arbitrary<Action> = fc.oneof(
  fc.record({ kind: fc.constantFrom('stage' as const, 'submit' as const), text: fc.constantFrom('winning_evidence', 'losing_evidence', 'a receipt') }),
  fc.constant({ kind: 'close' as const }),
  fc.constant({ kind: 'decide' as const }),
  fc.constant({ kind: 'metadata' as const }),
);

/** What the API would do: refused actions change nothing. */
function step(dispute: Dispute.Dispute, a: Action, now_s: number): Dispute.Dispute {
  switch (a.kind) {
    case 'stage':
    case 'submit':
      return Dispute.refusal(dispute, 'evidence') ? dispute : Dispute.updateEvidence(dispute, { uncategorized_text: a.text }, a.kind === 'submit', now_s);
    case 'close':
      return Dispute.refusal(dispute, 'close') ? dispute : Dispute.close(dispute);
    case 'decide':
      return dispute.pending_outcome === null ? dispute : Dispute.decide(dispute, now_s);
    case 'metadata':
      return { ...dispute, metadata: { n: String(dispute.version) }, version: dispute.version + 1 };
  }
}

/** The merchant's balance change from the ledger transfers this dispute's state calls for. */
function merchantNet(dispute: Dispute.Dispute): number {
  const moves: ['dispute' | 'dispute_reversal', number | null][] = [
    ['dispute', dispute.funds_withdrawn_at],
    ['dispute_reversal', dispute.funds_reinstated_at],
  ];
  let net = 0;
  for (const [kind, at] of moves) {
    if (at === null) continue;
    const transfer = disputeTransfer(dispute, kind, at, { event_id: 'evt_1', type: 'test' });
    expect(validateTransfer(transfer)).toBe('ok');
    net += balanceEffect(transfer.postings).net;
  }
  return net;
}

describe('dispute lifecycle', () => {
  it('any sequence of answers moves money as Stripe does: a chargeback costs amount and fee unless won; an inquiry costs nothing unless it escalates', () => {
    fc.assert(
      fc.property(fc.boolean(), fc.integer({ min: 1, max: 10_000_000 }), fc.array(action, { maxLength: 12 }), (inquiry, amount, actions) => {
        let dispute = opened(inquiry, amount);
        const cost = amount + disputeFee('usd');
        let now = NOW;
        for (const a of actions) {
          now += 60;
          const before = dispute;
          dispute = step(dispute, a, now);
          Dispute.checkDispute(dispute);
          // A closed dispute never changes status again; money moves only on opening, escalating or winning.
          if (Dispute.CLOSED.has(before.status)) expect(dispute.status).toBe(before.status);
          if (dispute.status === 'won') expect(dispute.funds_reinstated_at).not.toBeNull();
        }
        const net = merchantNet(dispute);
        if (dispute.funds_withdrawn_at === null) expect(net).toBe(0);
        else expect(net).toBe(dispute.status === 'won' ? 0 : -cost);
        // One submission per phase: the inquiry's, and the chargeback's if it escalated.
        expect(dispute.submission_count).toBeLessThanOrEqual(inquiry ? 2 : 1);
      }),
    );
  });

  it("past_due says the latest submission came after due_by, as Stripe's does", () => {
    const chargeback = opened(false, 2000);
    expect(Dispute.updateEvidence(chargeback, {}, true, chargeback.due_by).past_due).toBe(false);
    expect(Dispute.updateEvidence(chargeback, {}, true, chargeback.due_by + 1).past_due).toBe(true);
  });

  it('submitted winning or losing evidence waits for the decision; staged evidence and other text do not', () => {
    const chargeback = opened(false, 2000);
    expect(Dispute.updateEvidence(chargeback, { uncategorized_text: 'winning_evidence' }, false, NOW)).toMatchObject({
      status: 'needs_response',
      pending_outcome: null,
    });
    expect(Dispute.updateEvidence(chargeback, { uncategorized_text: 'winning_evidence' }, true, NOW)).toMatchObject({
      status: 'under_review',
      pending_outcome: 'won',
    });
    expect(Dispute.updateEvidence(chargeback, { uncategorized_text: 'our receipt' }, true, NOW)).toMatchObject({
      status: 'under_review',
      pending_outcome: null,
    });
    const escalated = Dispute.decide(Dispute.updateEvidence(opened(true, 2000), { uncategorized_text: 'losing_evidence' }, true, NOW), NOW + 10);
    expect(escalated).toMatchObject({
      status: 'needs_response',
      funds_withdrawn_at: NOW + 10,
      is_charge_refundable: false,
      due_by: NOW + 10 + Dispute.RESPONSE_WINDOW_S,
    });
  });
});

describe('dispute flows on the ledger', () => {
  it("the fee is 15 whole units of the dispute's currency (Stripe's $15.00)", () => {
    expect([disputeFee('usd'), disputeFee('jpy'), disputeFee('kwd')]).toEqual([1500, 15, 15_000]);
  });

  it('a malformed dispute event is refused by name, so the consumer parks it', () => {
    const event = (object: Record<string, unknown>) => ({
      id: 'evt_1',
      merchant_id: 'acct_1',
      type: 'charge.dispute.funds_withdrawn',
      created: NOW,
      data: { object },
    });
    expect(() => disputeTransfers(event({ id: 'dp_1', amount: -5, currency: 'usd', created: NOW }))).toThrow(MalformedDisputeEvent);
    expect(() => disputeTransfers(event({ id: 'dp_1', amount: 5, currency: 'xxx', created: NOW }))).toThrow(MalformedDisputeEvent);
    expect(disputeTransfers({ ...event({}), type: 'charge.dispute.updated' })).toEqual([]);
  });

  it('reconciliation names a missing, wrong, stray or unexplained transfer', () => {
    const facts = { merchant_id: 'acct_1', id: 'dp_1', amount: 2000, currency: 'usd', withdrawn: true, reinstated: false };
    const withdrawal = { kind: 'dispute' as const, id: 'txn_1', net: -3500, fee: 1500 };
    expect(disputeProblem(facts, 'dp_1', [withdrawal])).toBeNull();
    expect(disputeProblem(facts, 'dp_1', [])).toContain('has no dispute transfer');
    expect(disputeProblem(facts, 'dp_1', [{ ...withdrawal, net: -2000 }])).toContain('calls for -3500 and 1500');
    expect(disputeProblem(facts, 'dp_1', [withdrawal, { kind: 'refund', id: 'txn_2', net: 1, fee: 0 }])).toContain('unexpected refund');
    expect(disputeProblem({ ...facts, reinstated: true }, 'dp_1', [withdrawal])).toContain('has no dispute_reversal transfer');
    expect(disputeProblem(undefined, 'dp_9', [withdrawal])).toContain('no record of');
    expect(disputeProblem({ ...facts, withdrawn: false }, 'dp_1', [withdrawal])).toContain('did not move that way');
  });
});
