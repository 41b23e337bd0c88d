import { randomBytesPooled } from '../../../kernel/random.js';
import { sql } from '../../../platform/db.js';
import type { OperationContext, Outcome } from '../../../platform/write/operation.js';
import type { Page, PageRequest } from '../../../platform/pagination.js';
import { listPage } from '../../../platform/pagination.js';
import { PayrailError } from '../../../kernel/errors.js';
import { sameSecret } from '../../../kernel/secrets.js';
import { mergeMetadata } from '../../../kernel/metadata.js';
import type { AutomaticPaymentMethods, FutureUsage } from '../domain/details.js';
import type { SetupCancellationReason, SetupChanges, SetupIntent } from '../domain/setup-intent.js';
import { beginSetupConfirm, cancelSetup, checkSetupIntent, updateSetup } from '../domain/setup-intent.js';
import { renderSetupAttempt, renderSetupIntent } from '../adapters/setup-render.js';
import type { SetupAttempt } from '../domain/setup-attempt.js';
import { findSetupAttempt, getSetupIntent, insertSetupIntent, updateSetupIntent } from '../adapters/setup-store.js';
import { getCustomer } from '../adapters/store.js';
import type { PaymentsDeps } from './deps.js';
import { eventsWrite } from './events.js';
import type { ChosenPaymentMethod, PaymentMethodDataParams } from './intent-params.js';
import { choosePaymentMethod } from './intent-params.js';
import { authenticateSetup, verifySetup } from './setup-verification.js';

/** SetupIntent use cases: create, update, confirm, cancel, retrieve, list. The verification itself is in setup-verification.ts. */
export interface CreateSetupParams {
  customer?: string | undefined;
  payment_method?: string | undefined;
  payment_method_data?: PaymentMethodDataParams | undefined;
  payment_method_types?: string[] | undefined;
  automatic_payment_methods?: { enabled: boolean; allow_redirects?: 'always' | 'never' | undefined } | undefined;
  usage?: FutureUsage | undefined;
  confirm?: boolean | undefined;
  description?: string | null | undefined;
  metadata?: Record<string, string | null> | null | undefined;
  return_url?: string | undefined;
}

/** Creates a SetupIntent and, with `confirm`, verifies its card in the same request. */
export async function createSetupIntent(deps: PaymentsDeps, ctx: OperationContext, params: CreateSetupParams): Promise<Outcome> {
  if (params.payment_method_types && params.automatic_payment_methods) {
    throw new PayrailError('parameters_exclusive', {
      param: 'automatic_payment_methods',
      message: 'You may only specify one of these parameters: automatic_payment_methods, payment_method_types.',
    });
  }
  if (params.return_url !== undefined && !params.confirm) {
    throw new PayrailError('parameter_invalid', { param: 'return_url', message: 'You can only pass return_url when confirm is true.' });
  }
  if (params.customer) await getCustomer(ctx.reader, ctx.merchant_id, params.customer, 'customer');
  const chosen = await chosenCard(deps, ctx, params);
  const intent = newSetupIntent(ctx, { ...params, payment_method: chosen.id ?? undefined });
  const created = { type: 'setup_intent.created', object: renderSetupIntent(intent) };
  if (params.confirm) return verifySetup(deps, ctx, null, beginSetupConfirm(intent, null), [created], chosen.cvc);
  const outcome: Outcome = { ok: created.object };
  await ctx.commit([insertSetupIntent(intent), eventsWrite(ctx, [created])], outcome);
  return outcome;
}

/**
 * The card named by `payment_method`, or one made from `payment_method_data` (its number straight to
 * the vault), stored durably before the processor is asked to verify it.
 */
async function chosenCard(
  deps: PaymentsDeps,
  ctx: OperationContext,
  params: { payment_method?: string | undefined; payment_method_data?: PaymentMethodDataParams | undefined },
): Promise<ChosenPaymentMethod> {
  const chosen = await choosePaymentMethod(deps, ctx, params);
  if (chosen.writes.length > 0) await ctx.record(chosen.writes);
  return chosen;
}

async function checkReferences(deps: PaymentsDeps, ctx: OperationContext, params: { customer?: string | undefined; payment_method?: string | undefined }) {
  if (params.customer) await getCustomer(ctx.reader, ctx.merchant_id, params.customer, 'customer');
  if (params.payment_method) await deps.vault.get(ctx.reader, ctx.merchant_id, params.payment_method, 'payment_method');
}

function newSetupIntent(ctx: OperationContext, params: CreateSetupParams): SetupIntent {
  const id = ctx.ids.next('setup_intent');
  // API 2023-08-16 turns automatic payment methods on unless the request lists types itself.
  const automatic: AutomaticPaymentMethods | null = params.payment_method_types
    ? null
    : { enabled: params.automatic_payment_methods?.enabled ?? true, allow_redirects: params.automatic_payment_methods?.allow_redirects ?? 'always' };
  return {
    id,
    merchant_id: ctx.merchant_id,
    status: params.payment_method ? 'requires_confirmation' : 'requires_payment_method',
    usage: params.usage ?? 'off_session',
    customer: params.customer ?? null,
    payment_method: params.payment_method ?? null,
    description: params.description ?? null,
    metadata: mergeMetadata({}, params.metadata ?? {}),
    return_url: params.return_url ?? null,
    automatic_payment_methods: automatic,
    payment_method_types: params.payment_method_types ?? ['card'],
    last_setup_error: null,
    latest_attempt: null,
    next_action: null,
    cancellation_reason: null,
    client_secret: `${id}_secret_${randomBytesPooled(12).toString('base64url')}`,
    created: ctx.now_s,
    version: 1,
  };
}

/** Stripe emits no event for a SetupIntent's update: the response is the whole record. */
export async function updateSetupIntentParams(deps: PaymentsDeps, ctx: OperationContext, id: string, changes: SetupChanges): Promise<Outcome> {
  const before = await getSetupIntent(ctx.reader, ctx.merchant_id, id);
  await checkReferences(deps, ctx, changes);
  const intent = updateSetup(before, changes);
  const outcome: Outcome = { ok: renderSetupIntent(intent) };
  await ctx.commit([updateSetupIntent(intent, before.version)], outcome);
  return outcome;
}

export interface ConfirmSetupParams {
  payment_method?: string | undefined;
  payment_method_data?: PaymentMethodDataParams | undefined;
  return_url?: string | undefined;
  client_secret?: string | undefined;
}

export async function confirmSetupIntent(deps: PaymentsDeps, ctx: OperationContext, id: string, params: ConfirmSetupParams): Promise<Outcome> {
  const before = await getSetupIntent(ctx.reader, ctx.merchant_id, id);
  checkClientSecret(before, params.client_secret);
  // The state is checked before a card from payment_method_data is stored for it.
  beginSetupConfirm(before, params.payment_method ?? (params.payment_method_data ? 'payment_method_data' : null));
  const chosen = await chosenCard(deps, ctx, params);
  const ready: SetupIntent = { ...beginSetupConfirm(before, chosen.id), return_url: params.return_url ?? before.return_url };
  return verifySetup(deps, ctx, before, ready, [], chosen.cvc);
}

/** Completes a 3-D Secure step (the sandbox's test page): the verification resumes at the processor. */
export async function authenticateSetupIntent(
  deps: PaymentsDeps,
  ctx: OperationContext,
  id: string,
  authenticated: boolean,
  client_secret?: string,
): Promise<Outcome> {
  const waiting = await getSetupIntent(ctx.reader, ctx.merchant_id, id);
  // The customer's step (the redirect URL) carries the SetupIntent's client_secret: it must be this one's.
  if (client_secret !== undefined && !sameSecret(waiting.client_secret, client_secret)) {
    throw new PayrailError('parameter_invalid', {
      param: 'client_secret',
      message: 'The client_secret provided does not match the client_secret of this SetupIntent.',
    });
  }
  return authenticateSetup(deps, ctx, waiting, authenticated);
}

/**
 * Nothing to release at the processor: a verification holds no money, and one waiting for 3-D Secure
 * is simply never completed.
 */
export async function cancelSetupIntent(ctx: OperationContext, id: string, reason: SetupCancellationReason | undefined): Promise<Outcome> {
  const before = await getSetupIntent(ctx.reader, ctx.merchant_id, id);
  const intent = cancelSetup(before, reason ?? null);
  const rendered = renderSetupIntent(intent);
  const outcome: Outcome = { ok: rendered };
  await ctx.commit([updateSetupIntent(intent, before.version), eventsWrite(ctx, [{ type: 'setup_intent.canceled', object: rendered }])], outcome);
  return outcome;
}

export async function retrieveSetupIntent(deps: PaymentsDeps, merchant_id: string, id: string, client_secret?: string): Promise<Record<string, unknown>> {
  const intent = await getSetupIntent(deps.reader, merchant_id, id);
  checkClientSecret(intent, client_secret);
  return renderSetupIntent(intent);
}

/** A client secret that does not match is a missing object: it must not confirm that the id exists. */
function checkClientSecret(intent: SetupIntent, client_secret: string | undefined): void {
  if (client_secret === undefined) return;
  if (!sameSecret(intent.client_secret, client_secret)) {
    throw new PayrailError('resource_missing', { param: 'client_secret', message: `No such setupintent: '${intent.id}'` });
  }
}

export interface SetupListFilters {
  customer?: string | undefined;
  payment_method?: string | undefined;
}

export async function listSetupIntents(
  deps: PaymentsDeps,
  merchant_id: string,
  page: PageRequest,
  filters: SetupListFilters,
): Promise<Page<Record<string, unknown>>> {
  const conditions = [
    ...(filters.customer ? [sql`customer_id = ${filters.customer}`] : []),
    ...(filters.payment_method ? [sql`payment_method_id = ${filters.payment_method}`] : []),
  ];
  const result = await listPage<SetupIntent>(deps.reader, { table: 'payments.setup_intents', column: 'state' }, merchant_id, conditions, page);
  return { data: result.data.map((intent) => renderSetupIntent(checkSetupIntent(intent))), has_more: result.has_more };
}

/** A SetupIntent's verifications, newest first (`GET /v1/setup_attempts?setup_intent=…`). */
export async function listSetupAttempts(
  deps: PaymentsDeps,
  merchant_id: string,
  page: PageRequest,
  setup_intent: string,
): Promise<Page<Record<string, unknown>>> {
  const result = await listPage<SetupAttempt>(
    deps.reader,
    { table: 'payments.setup_attempts', column: 'state' },
    merchant_id,
    [sql`setup_intent_id = ${setup_intent}`],
    page,
  );
  return { data: result.data.map(renderSetupAttempt), has_more: result.has_more };
}

/** For `expand[]=latest_attempt`: a SetupIntent's verification. */
export async function retrieveSetupAttempt(deps: PaymentsDeps, merchant_id: string, id: string): Promise<Record<string, unknown>> {
  const attempt = await findSetupAttempt(deps.reader, merchant_id, id);
  if (!attempt) throw new PayrailError('resource_missing', { message: `No such setupattempt: '${id.slice(0, 64)}'` });
  return renderSetupAttempt(attempt);
}
