import type { OperationContext, Outcome } from '../../../platform/write/operation.js';
import { execute } from '../../../platform/write/pipeline.js';
import type { UseCase } from '../../../platform/write/pipeline.js';
import { retrieveIntent } from '../../payments/index.js';
import type { DunningPolicy } from '../domain/dunning.js';
import { afterFailure } from '../domain/dunning.js';
import type { Invoice } from '../domain/invoice.js';
import type { Renewal } from '../adapters/renewal-store.js';
import { dunningPolicy, findRenewal, renewalOfInvoice, updateRenewal } from '../adapters/renewal-store.js';
import { getInvoice } from '../adapters/invoice-store.js';
import type { DueTry } from '../adapters/due-store.js';
import type { BillingDeps } from './deps.js';
import type { HookEffects, InvoiceHooks } from './invoice-hooks.js';
import { lostRace } from './renewals.js';
import { payInvoice } from './invoice-payment.js';
import { markInvoiceUncollectible } from './invoice-transitions.js';
import { endAfterDunning } from './subscription-renewal.js';

/**
 * Collecting a renewal's invoice, and dunning when its payment fails. A try is made through invoices'
 * `payInvoice`, whose PaymentIntent is keyed by (invoice, try number): a try repeated after a crash
 * replays, never charges again. What follows a try commits in the same statement as the invoice's
 * change, through the invoice hooks below: paid closes the renewal; a failure schedules the next try
 * (the invoice's `next_payment_attempt`, in its `invoice.payment_failed`) or, after a hard decline or
 * the last try, marks the renewal `exhausted`, whose end step then moves the subscription and the
 * invoice to the merchant's end states.
 */

/** The hooks dunning adds to invoices' list (registered by the composition root through billing's index). */
export function dunningHooks(deps: BillingDeps): Pick<InvoiceHooks, 'paid' | 'payment_failed'> {
  return {
    paid: [(ctx, invoice) => closeOnPaid(ctx, invoice)],
    payment_failed: [(ctx, invoice) => scheduleAfterFailure(deps, ctx, invoice)],
  };
}

const NOTHING: HookEffects = { writes: [], events: [] };

async function closeOnPaid(ctx: OperationContext, invoice: Invoice): Promise<HookEffects> {
  const row = await renewalOfInvoice(ctx.reader, ctx.merchant_id, invoice.id);
  if (!row || (row.state !== 'collecting' && row.state !== 'exhausted')) return NOTHING;
  return {
    writes: [updateRenewal({ ...row, state: 'paid', next_attempt_at: null, attempts_seen: invoice.attempt_count, version: row.version + 1 }, row.version)],
    events: [],
  };
}

async function scheduleAfterFailure(
  deps: BillingDeps,
  ctx: OperationContext,
  invoice: Invoice,
): Promise<HookEffects & { next_payment_attempt?: number | null }> {
  const row = await renewalOfInvoice(ctx.reader, ctx.merchant_id, invoice.id);
  if (!row || row.state !== 'collecting') return NOTHING;
  const decided = await afterTry(deps, ctx, row, invoice, await dunningPolicy(ctx.reader, ctx.merchant_id));
  return { writes: [updateRenewal(decided, row.version)], events: [], next_payment_attempt: decided.state === 'collecting' ? decided.next_attempt_at : null };
}

/** The renewal after a failed try counted on `invoice`: the next try, or exhausted (its end step due now). */
async function afterTry(deps: BillingDeps, ctx: OperationContext, row: Renewal, invoice: Invoice, policy: DunningPolicy): Promise<Renewal> {
  const decline_code = await declineCode(deps, ctx.merchant_id, invoice);
  const step = afterFailure(policy, { first_try_at: row.first_try_at, attempt_count: invoice.attempt_count, decline_code });
  const next = { ...row, attempts_seen: invoice.attempt_count, version: row.version + 1 };
  return step.next === 'retry' ? { ...next, next_attempt_at: step.at } : { ...next, state: 'exhausted', next_attempt_at: ctx.now_s };
}

/** The issuer's reason on the invoice's PaymentIntent (its last failed try), if it gave one. */
async function declineCode(deps: BillingDeps, merchant_id: string, invoice: Invoice): Promise<string | null> {
  if (invoice.payment_intent === null) return null;
  const intent = await retrieveIntent(deps.payments, merchant_id, invoice.payment_intent);
  const error = intent.last_payment_error as { decline_code?: unknown; code?: unknown } | null | undefined;
  if (typeof error?.decline_code === 'string') return error.decline_code;
  return typeof error?.code === 'string' ? error.code : null;
}

/** `waiting`: the invoice's payment is in flight (another runner's, or one a dead runner left for the sweeper). */
export type CollectResult = 'idle' | 'tried' | 'waiting' | 'closed' | 'ended';

/** One due renewal: try its invoice, or end its dunning. Safe to run twice at once, or again after a crash. */
export async function collectOne(deps: BillingDeps, key: DueTry): Promise<CollectResult> {
  const row = await findRenewal(deps.write.reader, key.merchant_id, key.subscription_id, key.period_start);
  const now_s = Math.floor(deps.write.clock.now_ms() / 1000);
  if (!row || row.next_attempt_at === null || row.next_attempt_at > now_s || row.invoice_id === null) return 'idle';
  const invoice = await getInvoice(deps.write.reader, key.merchant_id, row.invoice_id);
  const request_id = `dunning-${row.invoice_id}-${row.attempts_seen}`;
  if (row.state === 'exhausted') {
    await endDunning(deps, row, invoice, request_id);
    return 'ended';
  }
  if (invoice.status !== 'open') {
    // Paid, voided or marked uncollectible by other means (the API): nothing more to collect.
    await run(deps, key.merchant_id, request_id, (ctx) => closeRow(ctx, row, invoice.status === 'paid' ? 'paid' : 'ended'));
    return 'closed';
  }
  if (invoice.attempt_count !== row.attempts_seen) {
    // A try was counted without this row hearing of it (made before the hook existed): decide from the invoice.
    await run(deps, key.merchant_id, request_id, async (ctx) => {
      const decided = await afterTry(deps, ctx, row, invoice, await dunningPolicy(ctx.reader, ctx.merchant_id));
      const outcome: Outcome = { ok: { state: decided.state } };
      await ctx.commit([updateRenewal(decided, row.version)], outcome);
      return outcome;
    });
    return 'closed';
  }
  const paid = await payInvoice(deps, key.merchant_id, invoice.id, { off_session: true, expected_attempt_count: row.attempts_seen }, request_id);
  // Nothing counted and nothing declined: the try is still out, and settles without this runner.
  const in_flight = paid.error === null && paid.invoice.status === 'open' && paid.invoice.attempt_count === row.attempts_seen;
  return in_flight ? 'waiting' : 'tried';
}

/** The tries ran out: the invoice, then the subscription, to the merchant's end states; then the row. Each step checks first. */
async function endDunning(deps: BillingDeps, row: Renewal, invoice: Invoice, request_id: string): Promise<void> {
  const policy = await dunningPolicy(deps.write.reader, row.merchant_id);
  if (policy.invoice_end === 'uncollectible' && invoice.status === 'open') {
    await run(deps, row.merchant_id, request_id, (ctx) => markInvoiceUncollectible(deps, ctx, invoice.id));
  }
  if (policy.subscription_end !== 'past_due') {
    const end = policy.subscription_end;
    await run(deps, row.merchant_id, request_id, (ctx) => endAfterDunning(deps, ctx, row.subscription_id, end));
  }
  await run(deps, row.merchant_id, request_id, (ctx) => closeRow(ctx, row, invoice.status === 'paid' ? 'paid' : 'ended'));
}

async function closeRow(ctx: OperationContext, row: Renewal, state: 'paid' | 'ended'): Promise<Outcome> {
  const outcome: Outcome = { ok: { state } };
  await ctx.commit([updateRenewal({ ...row, state, next_attempt_at: null, version: row.version + 1 }, row.version)], outcome);
  return outcome;
}

/** A step through the write pipeline; a step another runner already committed is done, not failed. */
async function run(deps: BillingDeps, merchant_id: string, request_id: string, step: UseCase<Record<string, never>>['run']): Promise<void> {
  try {
    const { response } = await execute(deps.write, { merchant_id, request_id }, { reserves: [], run: step }, {});
    if (response.status !== 200) throw new Error(`dunning step for ${merchant_id} answered ${response.status}: ${response.body.slice(0, 300)}`);
  } catch (error) {
    if (!lostRace(error)) throw error;
  }
}
