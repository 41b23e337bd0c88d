import type { SqlFragment } from '../../../platform/db.js';
import type { OperationContext } from '../../../platform/write/operation.js';
import type { EventDraft } from '../../events/index.js';
import type { PaymentMethodRecord } from '../../vault/index.js';
import { renderPaymentMethod } from '../adapters/render.js';
import { recordCardSetup } from '../adapters/setup-store.js';
import type { PaymentsDeps } from './deps.js';
import type { AttemptOutcome } from './attempt-result.js';
import type { FutureUsage } from '../domain/details.js';

/** What saving a card writes: the card as saved, the writes to commit, and the events they owe. */
export interface SavedCard {
  method: PaymentMethodRecord;
  writes: SqlFragment[];
  events: EventDraft[];
}

/** Stripe's test ids (`pm_card_visa`) stand for cards nobody stored; real ids are `pm_` and a 26-character body. */
export function isTestPaymentMethod(id: string): boolean {
  return id.startsWith('pm_card_');
}

/**
 * Saves a card the processor just verified or charged with the customer present: attaches it to the
 * customer (a Stripe test id is first stored as a card of its own, as Stripe does). Saved for use off
 * session, the attempt is also recorded as the card's stored credential, so later off-session payments
 * need no authentication where the issuer allows it; saved for on-session use it is not. Writes
 * nothing itself: the caller commits it with the intent's outcome.
 */
export async function saveCard(
  deps: PaymentsDeps,
  ctx: OperationContext,
  saving: { payment_method: string; customer: string | null; usage: FutureUsage; initial_attempt_id: string },
): Promise<SavedCard> {
  const current = await deps.vault.get(ctx.reader, ctx.merchant_id, saving.payment_method);
  const credential = (id: string) =>
    saving.usage === 'off_session' && !isTestPaymentMethod(id) ? [recordCardSetup(ctx.merchant_id, id, saving.initial_attempt_id, ctx.now_s)] : [];
  if (saving.customer === null || current.customer === saving.customer) return { method: current, writes: credential(current.id), events: [] };
  // Another customer's card is not taken over: the payment stands, and the card stays theirs.
  if (current.customer !== null) return { method: current, writes: [], events: [] };
  const { method, writes } = await deps.vault.attach(ctx.reader, ctx.ids, ctx.merchant_id, saving.payment_method, saving.customer, ctx.now_s);
  return { method, writes: [...writes, ...credential(method.id)], events: [{ type: 'payment_method.attached', object: renderPaymentMethod(method) }] };
}

/**
 * A payment confirmed with `setup_future_usage` and a customer saves its card once the processor
 * authorized it, in the same statement as the payment's outcome (Stripe's "save a card during
 * payment"). A declined or blocked payment saves nothing.
 */
export async function withCardSaved(deps: PaymentsDeps, ctx: OperationContext, outcome: AttemptOutcome, charge_id: string): Promise<AttemptOutcome> {
  const { intent } = outcome;
  const authorized = intent.status === 'succeeded' || intent.status === 'requires_capture';
  if (!authorized || !intent.setup_future_usage || !intent.customer || !intent.payment_method || outcome.charge?.id !== charge_id) return outcome;
  const saving = { payment_method: intent.payment_method, customer: intent.customer, usage: intent.setup_future_usage, initial_attempt_id: charge_id };
  const saved = await saveCard(deps, ctx, saving);
  return { ...outcome, writes: [...outcome.writes, ...saved.writes], events: [...outcome.events, ...saved.events] };
}
