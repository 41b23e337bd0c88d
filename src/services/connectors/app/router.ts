/**
 * The connector payments calls: it routes each attempt to the merchant's connector accounts in the
 * order routing chose, records every try durably before the processor hears of it, and moves on to the
 * next account only on a confirmed failure (unreachable, breaker open, a soft decline) — never on a
 * hard decline and never while a try's outcome is unknown (that throws ProcessorOutcomeUnknown, and a
 * status inquiry or the processor's notification settles it). Everything after the authorization
 * (3-D Secure, capture, void, refund, inquiries) goes to the account and id that holds the attempt.
 */
import { isBrokenCircuitError } from 'cockatiel';
import { assert } from '../../../kernel/assert.js';
import type { SqlFragment } from '../../../platform/db.js';
import type { Clock } from '../../../kernel/clock.js';
import { metrics } from '../../../platform/metrics.js';
import type {
  AttemptStatus,
  AuthorizeRequest,
  AuthorizeResult,
  CaptureResult,
  Connector,
  NotificationHandler,
  PaymentFacts,
  RefundResult,
  RefundStatus,
  TryPlan,
  VerifyRequest,
} from '../domain/port.js';
import { ProcessorOutcomeUnknown, ProcessorUnreachable } from '../domain/port.js';
import type { TryInquiry } from '../domain/cascade.js';
import { MAX_TRIES, attemptIdOf, combineInquiries, isSoftDecline, rawCodeOf, referenceFor } from '../domain/cascade.js';
import type { HealthView } from '../domain/health.js';
import type { StoredTry } from '../adapters/routed-tries.js';
import { RoutedTries, answerWrite, firstTryWrite, traceOf } from '../adapters/routed-tries.js';
import type { ConnectorHealth } from './health.js';

/** The built-in sandbox's account id: where attempts go without routing, and attempts made before the router. */
export const BUILT_IN_ACCOUNT = 'sandbox';

export interface RouteRequest {
  merchant_id: string;
  attempt_id: string;
  amount: number;
  currency: string;
  facts: PaymentFacts;
  /** The card number's first six digits, never more. */
  bin: string;
}

export interface RouteCandidate {
  account_id: string;
  reason: string;
}

/** Where the merchants' connector accounts and routing rules come from (the accounts store, or a test's). */
export interface ConnectorDirectory {
  /** The accounts to try, in order, for one attempt. */
  route(payment: RouteRequest, health: HealthView): Promise<readonly RouteCandidate[]>;
  /** The connector behind one of the merchant's accounts (BUILT_IN_ACCOUNT: the sandbox). */
  open(merchant_id: string, account_id: string): Promise<Connector>;
}

/** A directory with only the built-in sandbox: every merchant routes there (the zero-configuration start). */
export function builtInOnly(sandbox: Connector): ConnectorDirectory {
  return {
    route: () => Promise.resolve([{ account_id: BUILT_IN_ACCOUNT, reason: 'no routing rules: the built-in sandbox' }]),
    open: () => Promise.resolve(sandbox),
  };
}

/** What payments records when every account failed before reaching a processor: no money moved. */
const NO_PROCESSOR_REACHED: AuthorizeResult = {
  outcome: 'declined',
  code: 'processing_error',
  decline_code: 'processing_error',
  message: 'An error occurred while processing your card. Try again in a little bit.',
  cvc_check: 'unchecked',
  raw_code: 'no_connector_reachable',
};

type TryCall = (connector: Connector, reference: string) => Promise<AuthorizeResult>;

export interface RouterOptions {
  directory: ConnectorDirectory;
  health: ConnectorHealth;
  /** A pool that commits synchronously: a try is durable before the processor hears of it. */
  tries: RoutedTries;
  clock: Clock;
}

export class RoutingConnector implements Connector {
  readonly name = 'router';
  private readonly directory: ConnectorDirectory;
  /** Its measure of each account (routing's HealthView): the admin API's dry runs read it too. */
  readonly health: ConnectorHealth;
  private readonly tries: RoutedTries;
  private readonly clock: Clock;

  constructor(options: RouterOptions) {
    this.directory = options.directory;
    this.health = options.health;
    this.tries = options.tries;
    this.clock = options.clock;
  }

  async authorize(request: AuthorizeRequest, plan?: TryPlan): Promise<AuthorizeResult> {
    const call: TryCall = (connector, reference) => connector.authorize({ ...request, attempt_id: reference });
    if (plan === undefined) return this.route(request, call);
    assert(plan instanceof PlannedFirstTry && plan.entry.attempt_id === request.attempt_id, `attempt ${request.attempt_id}: a plan this router did not make`);
    return this.route(request, call, plan);
  }

  /**
   * The first try of a new attempt, chosen now so that the attempt's own statement records it: one
   * durable commit before the processor hears of it, instead of the attempt's and the try's.
   */
  async planTry(request: AuthorizeRequest): Promise<TryPlan | null> {
    const candidates = await this.directory.route(routeRequest(request), this.health);
    const first = candidates[0];
    if (!first) return null;
    const entry = await this.entryFor(request, 1, first);
    return new PlannedFirstTry(entry, candidates, firstTryWrite(entry, this.clock.now_ms()));
  }

  verify(request: VerifyRequest): Promise<AuthorizeResult> {
    return this.route({ ...request, amount: 0, capture: false }, (connector, reference) => connector.verify({ ...request, attempt_id: reference }));
  }

  async completeAuthentication(attempt_id: string, authenticated: boolean): Promise<AuthorizeResult> {
    const { connector, target, tries } = await this.holder(attempt_id);
    const result = await connector.completeAuthentication(target.reference, authenticated);
    if (target.try_number > 0) await this.tries.answer({ ...target, outcome: result.outcome, raw_code: rawCodeOf(result) }, result);
    return { ...result, routing: { tries: traceOf(tries.map((t) => (t.try_number === target.try_number ? { ...t, outcome: result.outcome } : t))) } };
  }

  async capture(attempt_id: string, amount: number): Promise<CaptureResult> {
    const { connector, target } = await this.holder(attempt_id);
    return connector.capture(target.reference, amount);
  }

  async void(attempt_id: string): Promise<void> {
    const { connector, target } = await this.holder(attempt_id);
    return connector.void(target.reference);
  }

  async refund(refund_id: string, attempt_id: string, amount: number): Promise<RefundResult> {
    const { connector, target } = await this.holder(attempt_id);
    if (target.try_number > 0) await this.tries.beginRefund(refund_id, target, this.clock.now_ms());
    return connector.refund(refund_id, target.reference, amount);
  }

  async refundStatus(refund_id: string): Promise<RefundStatus> {
    const account = await this.tries.refundAccount(refund_id);
    const connector = account ? await this.directory.open(account.merchant_id, account.connector_account) : await this.builtIn();
    return connector.refundStatus(refund_id);
  }

  /**
   * Asks the processor of every try that may have reached one, and combines their records
   * (domain/cascade.ts): an authorization anywhere holds the attempt. Tries found settled are recorded.
   */
  async attemptStatus(attempt_id: string): Promise<AttemptStatus> {
    const tries = await this.tries.list(attempt_id);
    if (tries.length === 0) return (await this.builtIn()).attemptStatus(attempt_id);
    const inquiries: TryInquiry[] = [];
    for (const entry of tries) {
      if (entry.outcome === 'unreachable') {
        inquiries.push({ try: entry, status: 'skipped' });
        continue;
      }
      const connector = await this.directory.open(entry.merchant_id, entry.connector_account);
      const status = await connector.attemptStatus(entry.reference);
      if (status.found === true && status.result.outcome !== entry.outcome) {
        entry.outcome = status.result.outcome;
        entry.raw_code = rawCodeOf(status.result);
        await this.tries.answer(entry, status.result);
      }
      inquiries.push({ try: entry, status });
    }
    const combined = combineInquiries(inquiries);
    return combined.found === true ? { ...combined, result: { ...combined.result, routing: { tries: traceOf(tries) } } } : combined;
  }

  /** The built-in sandbox's notifications, each about the attempt its try's reference names. */
  async deliverNotifications(handle: NotificationHandler, limit: number): Promise<number> {
    const sandbox = await this.builtIn();
    if (!sandbox.deliverNotifications) return 0;
    return sandbox.deliverNotifications((notification) => handle({ ...notification, attempt_id: attemptIdOf(notification.attempt_id) }), limit);
  }

  async settlementReport(batch_date: string): Promise<AsyncIterable<string> | null> {
    const sandbox = await this.builtIn();
    return sandbox.settlementReport ? sandbox.settlementReport(batch_date) : null;
  }

  /**
   * Runs an attempt's tries: resumes a try left pending or unknown (the same id to the same account,
   * so the processor answers from its record), else takes the next candidate not yet tried.
   */
  private async route(request: AuthorizeRequest, call: TryCall, plan?: PlannedFirstTry): Promise<AuthorizeResult> {
    const tries = plan ? [plan.entry] : await this.tries.list(request.attempt_id);
    // A planned try is recorded already: it is sent as a resend is.
    let { resend, fallback } = plan ? { resend: plan.entry, fallback: null } : await this.resumeFrom(tries.at(-1));
    let candidates: readonly RouteCandidate[] | null = plan?.candidates ?? null;
    for (;;) {
      let next = resend;
      resend = undefined;
      if (!next) {
        candidates ??= await this.directory.route(routeRequest(request), this.health);
        const candidate = candidates.find((c) => !tries.some((t) => t.connector_account === c.account_id));
        if (!candidate || tries.length >= MAX_TRIES) return { ...(fallback ?? NO_PROCESSOR_REACHED), routing: { tries: traceOf(tries) } };
        next = await this.begin(request, tries.length + 1, candidate);
        tries.push(next);
      }
      const result = await this.send(next, call, tries, plan);
      if (result && !isSoftDecline(result)) return { ...result, routing: { tries: traceOf(tries) } };
      if (result) fallback = result;
    }
  }

  /**
   * Where an attempt tried before picks up: its last try is sent again (same id, same account: the
   * processor answers from its record) unless it certainly failed — unreachable, or a soft decline,
   * which is then the answer to give if no account is left.
   */
  private async resumeFrom(last: StoredTry | undefined): Promise<{ resend: StoredTry | undefined; fallback: AuthorizeResult | null }> {
    if (!last || last.outcome === 'unreachable') return { resend: undefined, fallback: null };
    if (last.outcome !== 'declined') return { resend: last, fallback: null };
    const result = await this.tries.result(last.attempt_id, last.try_number);
    return result && isSoftDecline(result) ? { resend: undefined, fallback: result } : { resend: last, fallback: null };
  }

  private async begin(request: AuthorizeRequest, try_number: number, candidate: RouteCandidate): Promise<StoredTry> {
    return this.tries.begin(await this.entryFor(request, try_number, candidate), this.clock.now_ms());
  }

  private async entryFor(request: AuthorizeRequest, try_number: number, candidate: RouteCandidate): Promise<StoredTry> {
    const connector = await this.directory.open(request.merchant_id, candidate.account_id);
    return {
      attempt_id: request.attempt_id,
      merchant_id: request.merchant_id,
      try_number,
      connector_account: candidate.account_id,
      connector: connector.name,
      reference: referenceFor(request.attempt_id, try_number),
      outcome: 'pending',
      latency_ms: null,
      raw_code: null,
      reason: candidate.reason,
    };
  }

  /**
   * Sends one try through its account's breaker and timeout and records how it ended. Returns the
   * answer, or null when the processor was certainly never reached; throws ProcessorOutcomeUnknown
   * when it may have been (a timeout, a lost answer, any unexpected error). A planned try's final
   * answer is left to the plan, to be written with the attempt's.
   */
  private async send(entry: StoredTry, call: TryCall, tries: StoredTry[], plan?: PlannedFirstTry): Promise<AuthorizeResult | null> {
    const connector = await this.directory.open(entry.merchant_id, entry.connector_account);
    const started = this.clock.now_ms();
    try {
      const result = await this.health.run(
        entry.connector_account,
        () => call(connector, entry.reference),
        (answer) => !isSoftDecline(answer),
      );
      Object.assign(entry, { outcome: result.outcome, latency_ms: this.clock.now_ms() - started, raw_code: rawCodeOf(result) });
      if (plan?.entry === entry && !isSoftDecline(result)) plan.ended = answerWrite(entry, result);
      else await this.tries.answer(entry, result);
      metrics.routingTry(entry.connector, entry.outcome);
      return result;
    } catch (error) {
      const unreachable = error instanceof ProcessorUnreachable || isBrokenCircuitError(error);
      const raw_code = unreachable ? (isBrokenCircuitError(error) ? 'circuit_open' : 'unreachable') : 'outcome_unknown';
      Object.assign(entry, { outcome: unreachable ? 'unreachable' : 'unknown', latency_ms: this.clock.now_ms() - started, raw_code });
      metrics.routingTry(entry.connector, entry.outcome);
      await this.tries.answer(entry, null);
      if (unreachable) return null;
      const routing = traceOf(tries)
        .map((t) => `${t.connector_account}:${t.outcome}`)
        .join(',');
      throw new ProcessorOutcomeUnknown(`attempt ${entry.attempt_id}: outcome unknown at ${entry.connector_account} (tries ${routing})`, { cause: error });
    }
  }

  /**
   * The try that holds the attempt (authorized or waiting for 3-D Secure), else its latest try that
   * may have reached a processor. An attempt made before the router (no tries) is the sandbox's, under its own id.
   */
  private async holder(attempt_id: string): Promise<{ connector: Connector; target: StoredTry; tries: StoredTry[] }> {
    const tries = await this.tries.list(attempt_id);
    const target = tries.find((t) => t.outcome === 'authorized' || t.outcome === 'requires_action') ?? tries.filter((t) => t.outcome !== 'unreachable').at(-1);
    if (!target) return { connector: await this.builtIn(), target: legacyTry(attempt_id), tries };
    return { connector: await this.directory.open(target.merchant_id, target.connector_account), target, tries };
  }

  private builtIn(): Promise<Connector> {
    return this.directory.open('', BUILT_IN_ACCOUNT);
  }
}

/** A first try planned by `planTry`: recorded with the attempt, and its answer written with the attempt's. */
class PlannedFirstTry implements TryPlan {
  ended: SqlFragment | null = null;
  constructor(
    readonly entry: StoredTry,
    readonly candidates: readonly RouteCandidate[],
    readonly record: SqlFragment,
  ) {}
}

function routeRequest(request: AuthorizeRequest): RouteRequest {
  return {
    merchant_id: request.merchant_id,
    attempt_id: request.attempt_id,
    amount: request.amount,
    currency: request.currency,
    facts: request.facts ?? { brand: 'unknown', country: null, metadata: {} },
    bin: request.card.number.slice(0, 6),
  };
}

/** An attempt with no recorded tries: the sandbox's, under the attempt id (try number 0: nothing to update). */
function legacyTry(attempt_id: string): StoredTry {
  return {
    attempt_id,
    merchant_id: '',
    try_number: 0,
    connector_account: BUILT_IN_ACCOUNT,
    connector: 'sandbox',
    reference: attempt_id,
    outcome: 'authorized',
    latency_ms: null,
    raw_code: null,
    reason: 'made before routing',
  };
}
