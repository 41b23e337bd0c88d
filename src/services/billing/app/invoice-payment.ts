import { PayrailError } from '../../../kernel/errors.js';
import type { OperationContext, Outcome } from '../../../platform/write/operation.js';
import type { UseCase } from '../../../platform/write/pipeline.js';
import type { EventDraft } from '../../events/index.js';
import { outboxInsert } from '../../events/index.js';
import { confirmIntent, createIntent, retrieveIntent } from '../../payments/index.js';
import type { Invoice } from '../domain/invoice.js';
import * as Inv from '../domain/invoice.js';
import { renderInvoice } from '../adapters/invoice-render.js';
import { getInvoice, updateInvoice } from '../adapters/invoice-store.js';
import type { BillingDeps } from './deps.js';
import { customerFacts } from './invoice-drafts.js';
import { runHooks } from './invoice-hooks.js';
import { requireCustomerPaymentMethod } from './invoice-payment-method.js';
import { errorOf, runFor } from './invoice-run.js';
import { finalizeInvoice } from './invoice-transitions.js';

/**
 * Paying an invoice: through the payments service's PaymentIntent use cases, one PaymentIntent per
 * invoice (as in Stripe), confirmed once per attempt under an idempotency key made of the invoice id
 * and the attempt number. A retry of the same attempt replays it; a crash between the charge and the
 * invoice's update is reconciled from the PaymentIntent on the next try. So an invoice is never
 * charged twice, however often `payInvoice` runs or dies.
 */

export interface PayOptions {
  off_session?: boolean | undefined;
  payment_method?: string | undefined;
  paid_out_of_band?: boolean | undefined;
  /** Make no attempt unless the invoice has had exactly this many (another runner already made this one). */
  expected_attempt_count?: number | undefined;
}

/** The invoice after the attempt, and the decline if the attempt failed (the invoice stays open). */
export interface PayResult {
  invoice: Invoice;
  error: PayrailError | null;
}

type Json = Record<string, unknown>;

export async function payInvoice(deps: BillingDeps, merchant_id: string, id: string, options: PayOptions, request_id: string | null): Promise<PayResult> {
  let invoice = await getInvoice(deps.reader, merchant_id, id);
  Inv.requireAllowed(invoice, 'pay');
  if (options.expected_attempt_count !== undefined && invoice.attempt_count !== options.expected_attempt_count) return { invoice, error: null };
  const reconciled = options.paid_out_of_band ? undefined : await reconcile(deps, invoice, request_id);
  if (reconciled) return { invoice: reconciled, error: null };
  // Chosen before a draft is finalized: an invoice nobody can pay is refused with nothing changed.
  const payment_method = options.paid_out_of_band ? null : await paymentMethodFor(deps, invoice, options.payment_method);
  if (invoice.status === 'draft') {
    const finalized = await runFor(deps, merchant_id, request_id, { reserves: [], run: (ctx) => finalizeInvoice(deps, ctx, id, {}) }, {});
    if (!finalized.ok) throw errorOf(finalized);
    invoice = await getInvoice(deps.reader, merchant_id, id);
    if (invoice.status === 'paid') return { invoice, error: null };
  }
  if (payment_method === null) return { invoice: await settle(deps, merchant_id, request_id, id, { kind: 'out_of_band' }), error: null };
  const intent_id = invoice.payment_intent ?? (await createInvoiceIntent(deps, invoice, request_id));
  const attempt = invoice.attempt_count + 1;
  const confirm: UseCase<{ payment_method: string; off_session: boolean }> = {
    reserves: ['charge'],
    run: (ctx, p) => confirmIntent(deps.payments, ctx, intent_id, p),
  };
  const params = { payment_method, off_session: options.off_session ?? true };
  const answer = await runFor(deps, merchant_id, request_id, confirm, params, `invoice:${id}:attempt:${attempt}`);
  if (answer.ok && answer.body.status === 'succeeded') {
    return { invoice: await settle(deps, merchant_id, request_id, id, { kind: 'charged', attempt, intent: answer.body }), error: null };
  }
  if (answer.ok && answer.body.status === 'processing') return afterProcessing(deps, invoice, intent_id, attempt, request_id);
  if (answer.ok && answer.body.status === 'requires_action') {
    throw new PayrailError('invoice_unexpected_state', {
      message:
        'This payment requires additional user action before it can be completed successfully: the customer must authenticate on the hosted invoice page.',
      extra: { payment_intent: answer.body },
    });
  }
  if (answer.ok || answer.status !== 402) throw answer.ok ? new PayrailError('api_error') : errorOf(answer);
  const error = errorOf(answer);
  const failed = await settle(deps, merchant_id, request_id, id, { kind: 'failed', attempt, charge: chargeOf(error) });
  return { invoice: failed, error };
}

/**
 * A `processing` answer may be a replay older than the intent: the key's first request gave up while
 * the processor's outcome was unknown (it stored that answer), and the sweeper has settled the attempt
 * since. What the attempt came to is the intent's state now; an answer still out leaves the invoice as it is.
 */
async function afterProcessing(deps: BillingDeps, invoice: Invoice, intent_id: string, attempt: number, request_id: string | null): Promise<PayResult> {
  const intent = await retrieveIntent(deps.payments, invoice.merchant_id, intent_id);
  if (intent.status === 'succeeded') {
    return { invoice: await settle(deps, invoice.merchant_id, request_id, invoice.id, { kind: 'charged', attempt, intent }), error: null };
  }
  const declined = intent.last_payment_error as Json | null | undefined;
  if (intent.status !== 'requires_payment_method' || !declined) return { invoice, error: null };
  const error = errorOf({ ok: false, status: 402, body: { error: { ...declined, payment_intent: intent } } });
  const charge = typeof intent.latest_charge === 'string' ? intent.latest_charge : null;
  return { invoice: await settle(deps, invoice.merchant_id, request_id, invoice.id, { kind: 'failed', attempt, charge }), error };
}

function chargeOf(error: PayrailError): string | null {
  const charge = error.extra?.charge;
  return typeof charge === 'string' ? charge : null;
}

/** Stripe's order: the payment method given, the invoice's default, then the customer's invoice default. */
async function paymentMethodFor(deps: BillingDeps, invoice: Invoice, given: string | undefined): Promise<string> {
  if (given !== undefined) {
    await requireCustomerPaymentMethod(deps, invoice.merchant_id, invoice.customer, given, 'payment_method');
    return given;
  }
  const method = invoice.default_payment_method ?? (await customerFacts(deps, invoice.merchant_id, invoice.customer)).default_payment_method;
  if (method === null) {
    throw new PayrailError('parameter_missing', {
      param: 'payment_method',
      message:
        'This customer has no attached payment source or default payment method. Please consider adding a default payment method, or pass payment_method.',
    });
  }
  return method;
}

/** The invoice's one PaymentIntent, created once (its key replays it) and recorded on the invoice. */
async function createInvoiceIntent(deps: BillingDeps, invoice: Invoice, request_id: string | null): Promise<string> {
  const params = {
    amount: Inv.amountDue(invoice),
    currency: invoice.currency,
    customer: invoice.customer,
    description: invoice.description ?? (invoice.subscription === null ? `Invoice ${invoice.number ?? invoice.id}` : 'Subscription update'),
    metadata: {},
    invoice: invoice.id,
  };
  const create: UseCase<typeof params> = { reserves: ['payment_intent', 'charge'], run: (ctx, p) => createIntent(deps.payments, ctx, p) };
  const created = await runFor(deps, invoice.merchant_id, request_id, create, params, `invoice:${invoice.id}:payment_intent`);
  if (!created.ok) throw errorOf(created);
  const intent_id = String(created.body.id);
  const attach: UseCase<Record<string, never>> = { reserves: [], run: (ctx) => attachIntent(ctx, invoice.id, intent_id) };
  const attached = await runFor(deps, invoice.merchant_id, request_id, attach, {});
  if (!attached.ok) throw errorOf(attached);
  return intent_id;
}

async function attachIntent(ctx: OperationContext, id: string, intent_id: string): Promise<Outcome> {
  const before = await getInvoice(ctx.reader, ctx.merchant_id, id);
  const outcome: Outcome = { ok: { id } };
  if (before.payment_intent === intent_id) return outcome;
  await ctx.commit([updateInvoice(Inv.withPaymentIntent(before, intent_id), before.version)], outcome);
  return outcome;
}

/**
 * An earlier attempt whose result the invoice never recorded (a crash between the charge and the
 * invoice's update): a PaymentIntent that succeeded pays the invoice now, and is never charged again.
 */
async function reconcile(deps: BillingDeps, invoice: Invoice, request_id: string | null): Promise<Invoice | undefined> {
  if (invoice.payment_intent === null) return undefined;
  const intent = await retrieveIntent(deps.payments, invoice.merchant_id, invoice.payment_intent);
  if (intent.status === 'succeeded') {
    const attempt = invoice.attempt_count + 1;
    return settle(deps, invoice.merchant_id, request_id, invoice.id, { kind: 'charged', attempt, intent });
  }
  if (intent.status === 'processing') return invoice;
  return undefined;
}

type Settlement = { kind: 'charged'; attempt: number; intent: Json } | { kind: 'failed'; attempt: number; charge: string | null } | { kind: 'out_of_band' };

async function settle(deps: BillingDeps, merchant_id: string, request_id: string | null, id: string, settlement: Settlement): Promise<Invoice> {
  const answer = await runFor(deps, merchant_id, request_id, { reserves: [], run: (ctx) => recordSettlement(deps, ctx, id, settlement) }, {});
  if (!answer.ok) throw errorOf(answer);
  return getInvoice(deps.reader, merchant_id, id);
}

/** Records an attempt's result once: a second recording of the same attempt (a retry, a race) changes nothing. */
export async function recordSettlement(deps: BillingDeps, ctx: OperationContext, id: string, settlement: Settlement): Promise<Outcome> {
  const before = await getInvoice(ctx.reader, ctx.merchant_id, id);
  const unchanged: Outcome = { ok: renderInvoice(before, deps.public_url()) };
  if (before.status === 'paid') return unchanged;
  if (settlement.kind !== 'out_of_band' && before.attempt_count >= settlement.attempt) return unchanged;
  let after: Invoice;
  let events: EventDraft[];
  let effects;
  if (settlement.kind === 'failed') {
    const failed = Inv.recordFailedAttempt(before, { charge: settlement.charge, next_payment_attempt: null });
    effects = await runHooks(deps.invoice_hooks.payment_failed, ctx, failed);
    after = { ...failed, next_payment_attempt: effects.next_payment_attempt ?? null };
    events = [{ type: 'invoice.payment_failed', object: renderInvoice(after, deps.public_url()) }];
  } else {
    after =
      settlement.kind === 'charged'
        ? Inv.recordSucceededAttempt(before, stringOrNull(settlement.intent.latest_charge), ctx.now_s)
        : Inv.markPaid(before, { charge: null, out_of_band: true }, ctx.now_s);
    const rendered = renderInvoice(after, deps.public_url());
    events = [{ type: 'invoice.paid', object: rendered }];
    if (settlement.kind === 'charged') events.push({ type: 'invoice.payment_succeeded', object: rendered });
    effects = await runHooks(deps.invoice_hooks.paid, ctx, after);
  }
  const outcome: Outcome = { ok: renderInvoice(after, deps.public_url()) };
  const all_events = [...events, ...effects.events];
  await ctx.commit(
    [updateInvoice(after, before.version), ...effects.writes, outboxInsert(ctx.ids, ctx.merchant_id, ctx.now_s, ctx.request, all_events)],
    outcome,
  );
  return outcome;
}

function stringOrNull(value: unknown): string | null {
  return typeof value === 'string' ? value : null;
}
