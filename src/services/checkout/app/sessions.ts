import { randomBytes } from 'node:crypto';
import { PayrailError } from '../../../kernel/errors.js';
import { MAX_AMOUNT, currencyInfo } from '../../../kernel/money.js';
import { mergeMetadata } from '../../../kernel/metadata.js';
import type { OperationContext, Outcome } from '../../../platform/write/operation.js';
import type { Page, PageRequest } from '../../../platform/pagination.js';
import { outboxInsert } from '../../events/index.js';
import { retrieveCustomer, retrieveIntent } from '../../payments/index.js';
import type { CheckoutSession, LineItem } from '../domain/session.js';
import * as Session from '../domain/session.js';
import type { CreateSessionParams } from '../adapters/route-schemas.js';
import { renderLineItems, renderSession } from '../adapters/render.js';
import type { SessionFilters } from '../adapters/store.js';
import { getSession, insertSession, listSessions, updateSession } from '../adapters/store.js';
import type { CheckoutDeps } from './deps.js';
import { cancelAbandonedIntent } from './abandon.js';

/** The Checkout Session API: create, retrieve, list, line items and expire. */

const PAGE_SECRET_BYTES = 24;

export async function createSession(deps: CheckoutDeps, ctx: OperationContext, params: CreateSessionParams): Promise<Outcome> {
  const mode = checkMode(params);
  if (params.customer !== undefined && params.customer_email !== undefined) {
    throw new PayrailError('parameters_exclusive', {
      param: 'customer_email',
      message: 'You may only specify one of these parameters: customer, customer_email.',
    });
  }
  if (params.customer !== undefined) await requireCustomer(deps, ctx.merchant_id, params.customer);
  checkUrl(params.success_url, 'success_url');
  if (params.cancel_url !== undefined) checkUrl(params.cancel_url, 'cancel_url');
  const line_items = mode === 'payment' ? lineItems(ctx, params) : [];
  const currency = line_items[0]?.currency ?? params.currency ?? null;
  const session = Session.checkSession({
    id: ctx.ids.next('checkout_session'),
    merchant_id: ctx.merchant_id,
    mode,
    status: 'open',
    payment_status: mode === 'setup' ? 'no_payment_required' : 'unpaid',
    currency,
    line_items,
    success_url: params.success_url,
    cancel_url: params.cancel_url ?? null,
    customer: params.customer ?? null,
    customer_email: params.customer_email ?? null,
    customer_details: null,
    client_reference_id: params.client_reference_id ?? null,
    metadata: mergeMetadata({}, params.metadata ?? {}),
    payment_intent: null,
    setup_intent: null,
    payment_intent_data: intentData(params),
    submit_type: params.submit_type ?? null,
    page_secret: randomBytes(PAGE_SECRET_BYTES).toString('base64url'),
    expires_at: expiresAt(ctx.now_s, params.expires_at),
    created: ctx.now_s,
    version: 1,
  });
  const outcome: Outcome = { ok: renderSession(session, deps.public_url()) };
  // Stripe emits no event when a session is created; only when it completes or expires.
  await ctx.commit([insertSession(session)], outcome);
  return outcome;
}

function checkMode(params: CreateSessionParams): 'payment' | 'setup' {
  if (params.mode === 'subscription') {
    throw new PayrailError('parameter_invalid', {
      param: 'mode',
      message: 'Subscription mode needs billing (recurring prices, subscriptions, invoices), which Payrail does not have yet. Use mode payment or setup.',
    });
  }
  if (params.mode === 'setup') {
    if (params.line_items !== undefined)
      throw new PayrailError('parameter_invalid', { param: 'line_items', message: 'You cannot pass `line_items` in `setup` mode.' });
    if (params.payment_intent_data !== undefined) {
      throw new PayrailError('parameter_invalid', { param: 'payment_intent_data', message: 'You can only pass `payment_intent_data` in `payment` mode.' });
    }
  } else if (params.line_items === undefined) {
    throw new PayrailError('parameter_missing', {
      param: 'line_items',
      message: 'Missing required param: line_items. `payment` mode needs at least one line item.',
    });
  }
  return params.mode;
}

function checkUrl(value: string, param: string): void {
  let url: URL | undefined;
  try {
    url = new URL(value);
  } catch {
    url = undefined;
  }
  if (!url || (url.protocol !== 'https:' && url.protocol !== 'http:')) throw new PayrailError('parameter_invalid', { param, message: 'Not a valid URL' });
}

function lineItems(ctx: OperationContext, params: CreateSessionParams): LineItem[] {
  const items = (params.line_items ?? []).map((item, index): LineItem => {
    const { price_data } = item;
    if (params.currency !== undefined && price_data.currency !== params.currency) {
      throw new PayrailError('parameter_invalid', {
        param: `line_items[${index}][price_data][currency]`,
        message: 'All line items must use the session currency.',
      });
    }
    return {
      id: ctx.ids.next('line_item'),
      price_id: ctx.ids.next('price'),
      product_id: ctx.ids.next('product'),
      name: price_data.product_data.name,
      product_description: price_data.product_data.description ?? null,
      currency: price_data.currency,
      unit_amount: price_data.unit_amount,
      quantity: item.quantity,
    };
  });
  const currency = items[0]?.currency ?? '';
  items.forEach((item, index) => {
    if (item.currency !== currency) {
      throw new PayrailError('parameter_invalid', {
        param: `line_items[${index}][price_data][currency]`,
        message: 'All line items must have the same currency.',
      });
    }
  });
  const total = Session.amountSubtotal({ line_items: items });
  const minimum = currencyInfo(currency)?.min_charge_amount ?? 1;
  if (total < minimum)
    throw new PayrailError('amount_too_small', { param: 'line_items', message: `The total must be at least ${minimum} ${currency} minor units.` });
  if (total > MAX_AMOUNT) throw new PayrailError('amount_too_large', { param: 'line_items', message: `The total must be no more than ${MAX_AMOUNT}.` });
  return items;
}

function intentData(params: CreateSessionParams): CheckoutSession['payment_intent_data'] {
  const data = params.payment_intent_data;
  return {
    capture_method: data?.capture_method ?? null,
    description: data?.description ?? null,
    metadata: mergeMetadata({}, data?.metadata ?? {}),
    receipt_email: data?.receipt_email ?? null,
    setup_future_usage: data?.setup_future_usage ?? null,
    statement_descriptor: data?.statement_descriptor ?? null,
    statement_descriptor_suffix: data?.statement_descriptor_suffix ?? null,
  };
}

function expiresAt(now_s: number, requested: number | undefined): number {
  if (requested === undefined) return now_s + Session.EXPIRES_MAX_S;
  if (requested < now_s + Session.EXPIRES_MIN_S || requested > now_s + Session.EXPIRES_MAX_S) {
    throw new PayrailError('parameter_invalid', {
      param: 'expires_at',
      message: 'The `expires_at` timestamp must be between 30 minutes and 24 hours from Checkout Session creation.',
    });
  }
  return requested;
}

async function requireCustomer(deps: CheckoutDeps, merchant_id: string, id: string): Promise<void> {
  await retrieveCustomer(deps.payments, merchant_id, id).catch((error: unknown) => {
    throw error instanceof PayrailError ? new PayrailError('resource_missing', { param: 'customer', message: error.message }) : error;
  });
}

export async function retrieveSession(deps: CheckoutDeps, merchant_id: string, id: string): Promise<Record<string, unknown>> {
  return renderSession(await getSession(deps.write.reader, merchant_id, id), deps.public_url());
}

export async function listCheckoutSessions(
  deps: CheckoutDeps,
  merchant_id: string,
  filters: SessionFilters,
  page: PageRequest,
): Promise<Page<Record<string, unknown>>> {
  const result = await listSessions(deps.write.reader, merchant_id, filters, page);
  return { data: result.data.map((session) => renderSession(session, deps.public_url())), has_more: result.has_more };
}

/** Line items are few (at most 100) and kept in the session; the cursors walk them in order. */
export async function sessionLineItems(
  deps: CheckoutDeps,
  merchant_id: string,
  id: string,
  page: { limit?: number | undefined; starting_after?: string | undefined; ending_before?: string | undefined },
): Promise<Record<string, unknown>> {
  const session = await getSession(deps.write.reader, merchant_id, id);
  const all = session.line_items;
  const limit = page.limit ?? 10;
  const after = page.starting_after === undefined ? 0 : all.findIndex((item) => item.id === page.starting_after) + 1;
  const before =
    page.ending_before === undefined
      ? all.length
      : Math.max(
          0,
          all.findIndex((item) => item.id === page.ending_before),
        );
  const window =
    page.ending_before !== undefined && page.starting_after === undefined ? all.slice(Math.max(0, before - limit), before) : all.slice(after, after + limit);
  const has_more = page.ending_before !== undefined && page.starting_after === undefined ? before - limit > 0 : after + limit < all.length;
  return renderLineItems(session, window, has_more);
}

export async function expireSession(deps: CheckoutDeps, ctx: OperationContext, id: string): Promise<Outcome> {
  const before = await getSession(ctx.reader, ctx.merchant_id, id);
  await requireNoPaymentUnderway(deps, before);
  const expired = Session.expire(before);
  const rendered = renderSession(expired, deps.public_url());
  const outcome: Outcome = { ok: rendered };
  await ctx.commit(
    [
      updateSession(expired, before.version),
      outboxInsert(ctx.ids, ctx.merchant_id, ctx.now_s, ctx.request, [{ type: 'checkout.session.expired', object: rendered }]),
    ],
    outcome,
  );
  await cancelAbandonedIntent(deps, expired, ctx.request.id ?? `checkout-expiry-${id}`);
  return outcome;
}

/** PaymentIntent states in which the customer's money is moving or moved: the session is not abandoned. */
const UNDERWAY: ReadonlySet<unknown> = new Set(['processing', 'requires_action', 'requires_capture', 'succeeded']);

async function requireNoPaymentUnderway(deps: CheckoutDeps, session: CheckoutSession): Promise<void> {
  if (session.status !== 'open' || session.payment_intent === null) return;
  const intent = await retrieveIntent(deps.payments, session.merchant_id, session.payment_intent);
  if (UNDERWAY.has(intent.status)) {
    throw new PayrailError('checkout_session_unexpected_state', {
      message: `This Checkout Session cannot be expired: its PaymentIntent is \`${String(intent.status)}\`.`,
    });
  }
}
