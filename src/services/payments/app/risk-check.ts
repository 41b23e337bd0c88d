import type { OperationContext } from '../../../platform/write/operation.js';
import { traced } from '../../../platform/tracing.js';
import type { PaymentMethodRecord } from '../../vault/index.js';
import type { RiskDecision, RiskScore, RiskSignals, RuleVerdict } from '../../risk/index.js';
import { NORMAL_SCORE_MAX, decide, testRiskCard, usdCents } from '../../risk/index.js';
import type { PaymentIntent } from '../domain/intent.js';
import { capturesAutomatically } from '../domain/intent.js';
import type { AuthorizeResult } from '../../connectors/index.js';
import { PayrailError } from '../../../kernel/errors.js';
import { currencyInfo } from '../../../kernel/money.js';
import { getCustomer } from '../adapters/store.js';
import type { PaymentsDeps } from './deps.js';

/**
 * Every confirm is evaluated before the processor hears of it: the scorer scores the attempt's
 * signals, the merchant's Radar rules judge the attributes, and the decision (risk/domain/decision.ts)
 * says allow, block, review or 3-D Secure. A scorer or rules failure is caught here and fails closed
 * to review (`decide` never allows on it), so it is never a 500 and never a silent allow.
 */
export interface RiskCheck {
  decision: RiskDecision;
  /** What the scorer was told, kept to feed the attempt's result back into its windows. */
  signals: RiskSignals;
}

export async function evaluateAttempt(
  deps: PaymentsDeps,
  ctx: OperationContext,
  intent: PaymentIntent,
  method: PaymentMethodRecord,
  card_bin: string | null,
): Promise<RiskCheck> {
  const signals = await signalsOf(deps, ctx, intent, method, card_bin);
  const test_card = testRiskCard(signals.livemode, card_bin, method.card.last4);
  const scored = await scoreOrNull(deps, signals);
  const score =
    scored && test_card ? { ...scored, score: test_card.risk_score ?? Math.min(scored.score, NORMAL_SCORE_MAX), level: test_card.risk_level } : scored;
  const attributes = ruleAttributes(intent, signals, score);
  const verdict = await verdictOrNull(deps, ctx.merchant_id, attributes);
  return { decision: decide({ score, verdict, test_card }), signals };
}

/**
 * What risk asks of the processor: a payment placed in review is authorized only (captured on
 * approval), and a rule's Request 3D Secure makes the issuer ask the customer to authenticate.
 */
export function authorizationTerms(processing: PaymentIntent): { capture: boolean; three_d_secure: boolean } {
  const risk = processing.pending_risk;
  // Off session the customer is not there to authenticate: Radar asks for 3-D Secure only on session.
  const three_d_secure = risk?.action === 'request_three_d_secure' && processing.off_session !== true;
  return { capture: capturesAutomatically(processing) && risk?.action !== 'review', three_d_secure };
}

/**
 * The decision stored with an attempt in flight. One recorded before decisions were stored with
 * attempts reached the processor unevaluated, and its outcome says so (`unknown`) rather than invent a score.
 */
export function decisionFor(processing: PaymentIntent): RiskDecision {
  return processing.pending_risk ?? { action: 'allow', risk_score: null, risk_level: 'unknown', rule: null, reason: null };
}

/** The scorer learns what the processor answered (a 3-D Secure step still waiting teaches it nothing yet). */
export function recordResult(deps: PaymentsDeps, check: RiskCheck, answer: AuthorizeResult): void {
  if (answer.outcome !== 'requires_action') recordAttempt(deps, check, answer.outcome === 'authorized' ? 'authorized' : 'declined');
}

/** Feeds the attempt's result into the scorer's velocity windows; a failure there costs only accuracy. */
export function recordAttempt(deps: PaymentsDeps, check: RiskCheck, result: 'authorized' | 'declined' | 'blocked'): void {
  deps.risk.scorer.record(check.signals, result).catch((error: unknown) => deps.risk.on_failure('record', error));
}

async function scoreOrNull(deps: PaymentsDeps, signals: RiskSignals): Promise<RiskScore | null> {
  try {
    return await traced('risk.score', {}, () => deps.risk.scorer.score(signals));
  } catch (error) {
    deps.risk.on_failure('score', error);
    return null;
  }
}

async function verdictOrNull(deps: PaymentsDeps, merchant_id: string, attributes: Record<string, AttributeValue>): Promise<RuleVerdict | null> {
  try {
    const verdict = await traced('risk.rules', {}, () => deps.risk.rules.verdict(merchant_id, attributes));
    // A rule that threw fails closed inside the verdict; the operator still has to hear which rule is broken.
    if (verdict.error !== undefined) deps.risk.on_failure('rules', new Error(verdict.error));
    return verdict;
  } catch (error) {
    deps.risk.on_failure('rules', error);
    return null;
  }
}

type AttributeValue = number | string | boolean | null;

async function signalsOf(
  deps: PaymentsDeps,
  ctx: OperationContext,
  intent: PaymentIntent,
  method: PaymentMethodRecord,
  card_bin: string | null,
): Promise<RiskSignals> {
  return {
    merchant_id: ctx.merchant_id,
    livemode: deps.risk.livemode,
    created: ctx.now_s,
    amount: intent.amount,
    currency: intent.currency,
    // Without a reference rate the model sees the amount at par with USD, a rough stand-in; rules see
    // `:amount_in_usd:` missing instead (ruleAttributes).
    amount_in_usd: usdCents(intent.amount, intent.currency) ?? atPar(intent.amount, intent.currency),
    card_fingerprint: method.card.fingerprint,
    card_bin,
    card_last4: method.card.last4,
    card_brand: method.card.brand,
    card_country: method.card.country,
    card_funding: method.card.funding,
    ip_address: ctx.actor.client_ip,
    email: await emailOf(ctx, intent, method),
    customer_id: intent.customer,
    // Known only from the processor's answer, after the evaluation.
    cvc_check: null,
    address_line1_check: null,
    address_postal_code_check: null,
  };
}

/** The payer's email: the card's billing details, else the receipt email, else the customer's. */
async function emailOf(ctx: OperationContext, intent: PaymentIntent, method: PaymentMethodRecord): Promise<string | null> {
  const given = method.billing_details.email ?? intent.receipt_email;
  if (given !== null || intent.customer === null) return given;
  // A customer deleted since the intent named it has no email to give.
  const customer = await getCustomer(ctx.reader, ctx.merchant_id, intent.customer).catch((error: unknown) => {
    if (error instanceof PayrailError) return null;
    throw error;
  });
  return customer?.email ?? null;
}

/** Radar's attribute names (without colons): what a merchant's rule may test, the scorer's included. */
function ruleAttributes(intent: PaymentIntent, signals: RiskSignals, score: RiskScore | null): Record<string, AttributeValue> {
  const email = signals.email;
  const usd = usdCents(intent.amount, intent.currency);
  // Object.assign, not a spread: spreading the scorer's attributes (a dictionary-mode object) into a
  // literal costs V8's slow path on every payment (docs/architecture.md, "Hot path in Node").
  return Object.assign({}, score?.attributes, {
    risk_score: score?.score ?? null,
    risk_level: score?.level ?? null,
    // Radar compares `:amount_in_usd:` in whole dollars and cents (major units).
    amount_in_usd: usd === null ? null : usd / 100,
    card_country: signals.card_country,
    ip_country: score?.ip_country ?? null,
    ip_address: signals.ip_address,
    email,
    email_domain: email?.includes('@') ? email.slice(email.lastIndexOf('@') + 1).toLowerCase() : null,
    card_fingerprint: signals.card_fingerprint,
    card_bin: signals.card_bin,
    card_brand: signals.card_brand,
    card_funding: signals.card_funding,
    cvc_check: signals.cvc_check,
    address_zip_check: signals.address_postal_code_check,
    address_line1_check: signals.address_line1_check,
    is_off_session: intent.off_session === true,
    customer: intent.customer,
    currency: intent.currency,
    shipping_address_country: intent.shipping?.address.country ?? null,
  });
}

/** Minor units of a currency read as cents: 1 000 yen (exponent 0) is 100 000 "cents", 1 000 dinars (3) 100 000. */
function atPar(amount: number, currency: string): number {
  const exponent = currencyInfo(currency)?.exponent ?? 2;
  return exponent === 2 ? amount : exponent === 0 ? amount * 100 : Math.round(amount / 10);
}
