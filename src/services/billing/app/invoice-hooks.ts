import type { Db, SqlFragment } from '../../../platform/db.js';
import type { OperationContext } from '../../../platform/write/operation.js';
import type { EventDraft } from '../../events/index.js';
import type { Invoice, LineDraft } from '../domain/invoice.js';

/**
 * What other parts of billing do when an invoice is paid or a payment attempt fails (subscriptions
 * move their status, dunning schedules the next attempt). A hook answers writes and events that
 * commit in the same statement as the invoice's change, so the two can never disagree.
 */
export interface HookEffects {
  writes: SqlFragment[];
  events: EventDraft[];
  /** After a failed attempt: when dunning tries again (written on the invoice before its invoice.payment_failed is rendered). */
  next_payment_attempt?: number | null;
}

export type InvoiceHook = (ctx: OperationContext, invoice: Invoice) => Promise<HookEffects>;

/** What a subscription would bill next, for the upcoming-invoice preview (nothing is stored). */
export interface UpcomingPreview {
  subscription: string;
  currency: string;
  /** The invoice's period, as a renewal dates it: the current period, whose end is when the invoice is made. */
  period_start: number;
  period_end: number;
  lines: LineDraft[];
  default_payment_method: string | null;
  collection_method: 'charge_automatically' | 'send_invoice';
  days_until_due: number | null;
}

/** Answers the preview of the customer's subscription (the one named, or its next to renew), or null. */
export type UpcomingSource = (db: Db, merchant_id: string, customer: string, subscription: string | null) => Promise<UpcomingPreview | null>;

export interface InvoiceHooks {
  /** After the invoice is paid (by a charge, out of band, or because nothing was due). */
  paid: InvoiceHook[];
  /** After an attempt to charge it failed; the invoice is still open. */
  payment_failed: InvoiceHook[];
  /** Subscriptions' previews for GET /v1/invoices/upcoming. */
  upcoming: UpcomingSource[];
}

export function noInvoiceHooks(): InvoiceHooks {
  return { paid: [], payment_failed: [], upcoming: [] };
}

export async function runHooks(hooks: readonly InvoiceHook[], ctx: OperationContext, invoice: Invoice): Promise<HookEffects> {
  const effects: HookEffects = { writes: [], events: [] };
  for (const hook of hooks) {
    const { writes, events, next_payment_attempt } = await hook(ctx, invoice);
    effects.writes.push(...writes);
    effects.events.push(...events);
    if (next_payment_attempt !== undefined) effects.next_payment_attempt = next_payment_attempt;
  }
  return effects;
}
