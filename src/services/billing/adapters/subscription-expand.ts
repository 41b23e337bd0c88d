import { PayrailError } from '../../../kernel/errors.js';
import { retrieveCustomer, retrieveIntent } from '../../payments/index.js';
import type { BillingDeps } from '../app/deps.js';
import { retrieveInvoice } from '../app/invoices.js';

type Json = Record<string, unknown>;

/**
 * `expand[]` on subscriptions: `customer`, `latest_invoice` and, through it, the invoice's
 * `payment_intent` (what a client confirms for an `incomplete` subscription, as in Stripe's
 * integration guide); `data.` on lists. The route schemas refuse any other path first, so a request
 * with a bad path changes nothing.
 */
const PATHS: readonly string[] = ['customer', 'latest_invoice', 'latest_invoice.payment_intent'];

export function canExpandSubscriptionPath(segments: readonly string[]): boolean {
  return PATHS.includes(segments.join('.'));
}

export async function expandSubscription(deps: BillingDeps, merchant_id: string, body: Json, fields: readonly string[]): Promise<Json> {
  if (body.object === 'list' || body.object === 'search_result') {
    const inner = fields.map((field) => field.replace(/^data\./, ''));
    const data = await Promise.all((body.data as Json[]).map((item) => expandSubscription(deps, merchant_id, item, inner)));
    return { ...body, data };
  }
  if (body.object !== 'subscription') return body;
  const expanded = { ...body };
  // Shorter paths first: `latest_invoice.payment_intent` expands inside the expanded invoice.
  for (const field of [...fields].sort((a, b) => a.length - b.length)) {
    if (!canExpandSubscriptionPath(field.split('.'))) {
      throw new PayrailError('parameter_invalid', { param: 'expand', message: `This property cannot be expanded (${field.slice(0, 100)}).` });
    }
    if (field === 'customer' && typeof expanded.customer === 'string')
      expanded.customer = await retrieveCustomer(deps.payments, merchant_id, expanded.customer);
    if (field.startsWith('latest_invoice') && typeof expanded.latest_invoice === 'string') {
      expanded.latest_invoice = await retrieveInvoice(deps, merchant_id, expanded.latest_invoice);
    }
    const invoice = expanded.latest_invoice;
    if (field === 'latest_invoice.payment_intent' && invoice !== null && typeof invoice === 'object') {
      const intent = (invoice as Json).payment_intent;
      if (typeof intent === 'string') expanded.latest_invoice = { ...invoice, payment_intent: await retrieveIntent(deps.payments, merchant_id, intent) };
    }
  }
  return expanded;
}
