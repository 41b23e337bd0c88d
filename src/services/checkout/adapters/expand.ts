import { PayrailError } from '../../../kernel/errors.js';
import { retrieveCustomer, retrieveIntent, retrieveSetupIntent } from '../../payments/index.js';
import type { CheckoutDeps } from '../app/deps.js';
import { getSession } from './store.js';
import { renderLineItems } from './render.js';

type Json = Record<string, unknown>;

/** `expand[]` on sessions: `line_items` (not in the object unless asked for, as on Stripe), the intents, `customer`; `data.` on lists. */
const EXPANDABLE = ['line_items', 'payment_intent', 'setup_intent', 'customer'] as const;
/** Expandable on Stripe, always null here (no invoices, subscriptions or payment links yet): expanding them is a no-op. */
const ALWAYS_NULL = ['invoice', 'subscription', 'payment_link'] as const;

/** Checked by the route schemas before anything runs, so a request with a bad path changes nothing. */
export function canExpandSessionPath(segments: readonly string[]): boolean {
  const [field, ...rest] = segments;
  return rest.length === 0 && field !== undefined && ([...EXPANDABLE, ...ALWAYS_NULL] as readonly string[]).includes(field);
}

export async function expandSession(deps: CheckoutDeps, merchant_id: string, body: Json, fields: readonly string[]): Promise<Json> {
  if (body.object === 'list') {
    const inner = fields.map((field) => {
      if (!field.startsWith('data.')) throw unexpandable(field);
      return field.slice('data.'.length);
    });
    const data = await Promise.all((body.data as Json[]).map((item) => expandSession(deps, merchant_id, item, inner)));
    return { ...body, data };
  }
  const expanded = { ...body };
  for (const field of fields) {
    if (!canExpandSessionPath([field])) throw unexpandable(field);
    expanded[field] = await expandField(deps, merchant_id, body, field);
  }
  return expanded;
}

async function expandField(deps: CheckoutDeps, merchant_id: string, body: Json, field: string): Promise<unknown> {
  if (field === 'line_items') {
    const session = await getSession(deps.write.reader, merchant_id, String(body.id));
    return renderLineItems(session, session.line_items, false);
  }
  const id = body[field];
  if (typeof id !== 'string') return id ?? null;
  if (field === 'payment_intent') return retrieveIntent(deps.payments, merchant_id, id);
  if (field === 'setup_intent') return retrieveSetupIntent(deps.payments, merchant_id, id);
  return retrieveCustomer(deps.payments, merchant_id, id);
}

function unexpandable(field: string): PayrailError {
  const shown = /^[\w.]{1,100}$/.test(field) ? field : 'the given path';
  return new PayrailError('parameter_invalid', { param: 'expand', message: `This property cannot be expanded (${shown}).` });
}
