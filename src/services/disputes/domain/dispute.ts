import { assert } from '../../../kernel/assert.js';

/**
 * A dispute and its lifecycle, as Stripe's: pure code, the clock passed in. A chargeback opens
 * `needs_response` with its money withdrawn; an inquiry opens `warning_needs_response` and moves no
 * money. Evidence is staged or submitted (`under_review`); the merchant may instead accept (close) it.
 * docs/disputes.md draws the states with the postings each one causes.
 */

export const DISPUTE_STATUSES = ['warning_needs_response', 'warning_under_review', 'warning_closed', 'needs_response', 'under_review', 'won', 'lost'] as const;
export type DisputeStatus = (typeof DISPUTE_STATUSES)[number];

/** Evidence fields that take text, with the most characters Stripe's update accepts in each. */
export const TEXT_EVIDENCE_FIELDS = {
  access_activity_log: 20_000,
  billing_address: 5_000,
  cancellation_policy_disclosure: 20_000,
  cancellation_rebuttal: 20_000,
  customer_email_address: 5_000,
  customer_name: 5_000,
  customer_purchase_ip: 5_000,
  duplicate_charge_explanation: 20_000,
  duplicate_charge_id: 5_000,
  product_description: 20_000,
  refund_policy_disclosure: 20_000,
  refund_refusal_explanation: 20_000,
  service_date: 5_000,
  shipping_address: 5_000,
  shipping_carrier: 5_000,
  shipping_date: 5_000,
  shipping_tracking_number: 5_000,
  uncategorized_text: 20_000,
} as const;
export type TextEvidenceField = keyof typeof TEXT_EVIDENCE_FIELDS;

/** Evidence fields that name an uploaded file: Payrail has no Files API yet, so they stay null. */
export const FILE_EVIDENCE_FIELDS = [
  'cancellation_policy',
  'customer_communication',
  'customer_signature',
  'duplicate_charge_documentation',
  'receipt',
  'refund_policy',
  'service_documentation',
  'shipping_documentation',
  'uncategorized_file',
] as const;

/** Stripe's limit on all evidence text of a dispute together. */
export const EVIDENCE_TOTAL_CHARACTERS_MAX = 150_000;
/** Card networks give 7 to 21 days to answer; Payrail gives the most. */
export const RESPONSE_WINDOW_S = 21 * 86_400;

/** Stripe's test-mode evidence values: submitted as `uncategorized_text`, they decide the outcome. */
export const TEST_OUTCOMES: Readonly<Record<string, 'won' | 'lost'>> = { winning_evidence: 'won', losing_evidence: 'lost' };

export type Evidence = Partial<Record<TextEvidenceField, string>>;

export interface Dispute {
  id: string;
  merchant_id: string;
  charge: string;
  payment_intent: string | null;
  amount: number;
  currency: string;
  reason: string;
  status: DisputeStatus;
  evidence: Evidence;
  due_by: number;
  submission_count: number;
  /** Whether the latest submission came after `due_by` (Stripe's `past_due`: its delivery is not guaranteed). */
  past_due: boolean;
  is_charge_refundable: boolean;
  metadata: Record<string, string>;
  card_brand: string;
  created: number;
  /** When the amount and fee left the merchant's balance (a chargeback), and when a won one returned them. */
  funds_withdrawn_at: number | null;
  funds_reinstated_at: number | null;
  /** The test-mode outcome the evidence asked for, applied by the decision job (asynchronously, as Stripe). */
  pending_outcome: 'won' | 'lost' | null;
  /** `processor:notification id`: the notification that opened it, so a repeat opens nothing. */
  opened_by: string;
  version: number;
}

export const CLOSED: ReadonlySet<DisputeStatus> = new Set(['won', 'lost', 'warning_closed']);

export function isInquiry(status: DisputeStatus): boolean {
  return status.startsWith('warning_');
}

export function checkDispute(dispute: Dispute): Dispute {
  assert(Number.isSafeInteger(dispute.amount) && dispute.amount > 0, `dispute ${dispute.id}: amount must be positive`);
  assert(isInquiry(dispute.status) === (dispute.funds_withdrawn_at === null), `dispute ${dispute.id}: a chargeback has withdrawn funds, an inquiry none`);
  assert(dispute.funds_reinstated_at === null || dispute.status === 'won', `dispute ${dispute.id}: only a won dispute gets its funds back`);
  assert(dispute.pending_outcome === null || dispute.status.endsWith('under_review'), `dispute ${dispute.id}: an outcome waits only under review`);
  return dispute;
}

export interface OpenFacts {
  id: string;
  merchant_id: string;
  charge: string;
  payment_intent: string | null;
  amount: number;
  currency: string;
  reason: string;
  inquiry: boolean;
  card_brand: string;
  opened_by: string;
}

export function open(facts: OpenFacts, now_s: number): Dispute {
  const { inquiry, ...rest } = facts;
  return checkDispute({
    ...rest,
    status: inquiry ? 'warning_needs_response' : 'needs_response',
    evidence: {},
    due_by: now_s + RESPONSE_WINDOW_S,
    submission_count: 0,
    past_due: false,
    // An inquiry took no money yet, so the charge can still be refunded; a chargeback already refunded it.
    is_charge_refundable: inquiry,
    metadata: {},
    created: now_s,
    funds_withdrawn_at: inquiry ? null : now_s,
    funds_reinstated_at: null,
    pending_outcome: null,
    version: 1,
  });
}

/** Why an update or close cannot apply, in Stripe's words; null when it can. */
export function refusal(dispute: Dispute, action: 'evidence' | 'close'): string | null {
  if (CLOSED.has(dispute.status)) return `This dispute is already closed (status ${dispute.status}).`;
  if (dispute.status.endsWith('under_review')) {
    return action === 'close'
      ? 'This dispute is under review: its evidence was submitted, so it can no longer be accepted.'
      : 'Evidence for this dispute was already submitted; it is under review and can no longer be changed.';
  }
  return null;
}

/** Stages evidence (changed fields replace, null clears) and, when `submit`, sends it for review. */
export function updateEvidence(dispute: Dispute, changes: Partial<Record<TextEvidenceField, string | null>>, submit: boolean, now_s: number): Dispute {
  assert(refusal(dispute, 'evidence') === null, `dispute ${dispute.id} cannot take evidence`);
  const evidence: Evidence = { ...dispute.evidence };
  for (const [field, value] of Object.entries(changes) as [TextEvidenceField, string | null][]) {
    if (value === null) delete evidence[field];
    else evidence[field] = value;
  }
  if (!submit) return { ...dispute, evidence, version: dispute.version + 1 };
  const status: DisputeStatus = dispute.status === 'warning_needs_response' ? 'warning_under_review' : 'under_review';
  const pending_outcome = TEST_OUTCOMES[evidence.uncategorized_text ?? ''] ?? null;
  return checkDispute({
    ...dispute,
    evidence,
    status,
    submission_count: dispute.submission_count + 1,
    past_due: now_s > dispute.due_by,
    pending_outcome,
    version: dispute.version + 1,
  });
}

export function evidenceCharacters(evidence: Evidence): number {
  return Object.values(evidence).reduce((total, value) => total + (value?.length ?? 0), 0);
}

/** The merchant accepts: a chargeback is lost (its money already left), an inquiry simply closes. */
export function close(dispute: Dispute): Dispute {
  assert(refusal(dispute, 'close') === null, `dispute ${dispute.id} cannot be closed`);
  return checkDispute({ ...dispute, status: isInquiry(dispute.status) ? 'warning_closed' : 'lost', version: dispute.version + 1 });
}

/**
 * The issuer's decision on submitted evidence (test mode: what the evidence asked for). A won
 * chargeback gets its money back; a won inquiry closes; a lost inquiry becomes a chargeback, which
 * withdraws the money and asks for a response again.
 */
export function decide(dispute: Dispute, now_s: number): Dispute {
  assert(dispute.pending_outcome !== null, `dispute ${dispute.id} has no outcome to apply`);
  const decided = { ...dispute, pending_outcome: null, version: dispute.version + 1 };
  if (dispute.status === 'under_review') {
    return checkDispute(dispute.pending_outcome === 'won' ? { ...decided, status: 'won', funds_reinstated_at: now_s } : { ...decided, status: 'lost' });
  }
  if (dispute.pending_outcome === 'won') return checkDispute({ ...decided, status: 'warning_closed' });
  return checkDispute({
    ...decided,
    status: 'needs_response',
    funds_withdrawn_at: now_s,
    is_charge_refundable: false,
    due_by: now_s + RESPONSE_WINDOW_S,
  });
}

/** When an unanswered chargeback is lost: after its `due_by`, as on Stripe. Null when nothing is awaited. */
export function respondBy(dispute: Dispute): number | null {
  return dispute.status === 'needs_response' ? dispute.due_by : null;
}

/** A chargeback nobody answered by `due_by` is lost (its money left when it opened). */
export function expire(dispute: Dispute, now_s: number): Dispute {
  assert(dispute.status === 'needs_response' && now_s > dispute.due_by, `dispute ${dispute.id} is not an unanswered chargeback past its due date`);
  return checkDispute({ ...dispute, status: 'lost', version: dispute.version + 1 });
}
