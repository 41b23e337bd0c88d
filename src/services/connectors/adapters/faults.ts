/**
 * Fault injection around a connector (the sandbox, in tests and `npm start` demos): the failures a real
 * processor's network shows, each with what the caller can and cannot know.
 *
 * - `unreachable`: refused before processing (connection refused, a documented "not processed" 503):
 *   ProcessorUnreachable, nothing recorded at the processor.
 * - `lost_answer`: the processor made the charge, then the answer was lost (a timeout after the charge):
 *   ProcessorOutcomeUnknown, the processor's record holds the authorization.
 * - `dropped_request`: the request never arrived, but the caller only sees a timeout:
 *   ProcessorOutcomeUnknown, the processor never heard of it.
 * - `latency_ms`: added before the call reaches the processor.
 * - `down`: every call, inquiries included, unreachable.
 *
 * Shares are probabilities per authorize/verify call, drawn from the injected `random`.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { assert } from '../../../kernel/assert.js';
import type {
  AttemptStatus,
  AuthorizeRequest,
  AuthorizeResult,
  CaptureResult,
  Connector,
  NotificationHandler,
  RefundResult,
  RefundStatus,
  VerifyRequest,
} from '../domain/port.js';
import { ProcessorOutcomeUnknown, ProcessorUnreachable } from '../domain/port.js';

export interface FaultPlan {
  latency_ms: number;
  unreachable: number;
  lost_answer: number;
  dropped_request: number;
  down: boolean;
}

export const NO_FAULTS: FaultPlan = { latency_ms: 0, unreachable: 0, lost_answer: 0, dropped_request: 0, down: false };

const SHARES = ['unreachable', 'lost_answer', 'dropped_request'] as const;
const MAX_LATENCY_MS = 60_000;

/** Checks a plan: shares in [0, 1] that add up to at most 1, a bounded latency. */
export function checkedPlan(plan: FaultPlan): FaultPlan {
  for (const share of SHARES) assert(plan[share] >= 0 && plan[share] <= 1, `fault share ${share} must be in [0, 1]`);
  assert(plan.unreachable + plan.lost_answer + plan.dropped_request <= 1, 'fault shares add up to more than 1');
  assert(Number.isInteger(plan.latency_ms) && plan.latency_ms >= 0 && plan.latency_ms <= MAX_LATENCY_MS, 'latency_ms out of range');
  return plan;
}

/**
 * Reads `PAYRAIL_SANDBOX_FAULTS` (`unreachable=0.05,lost_answer=0.01,dropped_request=0.01,latency_ms=20,down=true`):
 * null when unset. An unknown name or a bad value stops the start rather than being ignored.
 */
export function faultPlanFromEnv(value: string | undefined): FaultPlan | null {
  if (value === undefined || value.trim() === '') return null;
  const plan: FaultPlan = { ...NO_FAULTS };
  for (const part of value.split(',')) {
    const [name = '', raw = ''] = part.split('=').map((s) => s.trim());
    if (name === 'down') plan.down = raw === 'true';
    else if (name === 'latency_ms' || (SHARES as readonly string[]).includes(name)) {
      const number = Number(raw);
      if (raw === '' || !Number.isFinite(number)) throw new Error(`PAYRAIL_SANDBOX_FAULTS: ${name} needs a number`);
      plan[name as 'latency_ms'] = number;
    } else throw new Error(`PAYRAIL_SANDBOX_FAULTS: unknown fault '${name}' (known: ${[...SHARES, 'latency_ms', 'down'].join(', ')})`);
  }
  return checkedPlan(plan);
}

export class FaultyConnector implements Connector {
  readonly name: string;
  private plan: FaultPlan;

  constructor(
    private readonly inner: Connector,
    plan: FaultPlan,
    private readonly random: () => number = Math.random,
  ) {
    this.name = inner.name;
    this.plan = checkedPlan(plan);
  }

  /** Changes the plan for calls from now on (a test taking a processor down mid-run). */
  setPlan(plan: FaultPlan): void {
    this.plan = checkedPlan(plan);
  }

  authorize(request: AuthorizeRequest): Promise<AuthorizeResult> {
    return this.decided(() => this.inner.authorize(request));
  }

  verify(request: VerifyRequest): Promise<AuthorizeResult> {
    return this.decided(() => this.inner.verify(request));
  }

  completeAuthentication(attempt_id: string, authenticated: boolean): Promise<AuthorizeResult> {
    return this.passed(() => this.inner.completeAuthentication(attempt_id, authenticated));
  }
  capture(attempt_id: string, amount: number): Promise<CaptureResult> {
    return this.passed(() => this.inner.capture(attempt_id, amount));
  }
  void(attempt_id: string): Promise<void> {
    return this.passed(() => this.inner.void(attempt_id));
  }
  refund(refund_id: string, attempt_id: string, amount: number): Promise<RefundResult> {
    return this.passed(() => this.inner.refund(refund_id, attempt_id, amount));
  }
  attemptStatus(attempt_id: string): Promise<AttemptStatus> {
    return this.passed(() => this.inner.attemptStatus(attempt_id));
  }
  refundStatus(refund_id: string): Promise<RefundStatus> {
    return this.passed(() => this.inner.refundStatus(refund_id));
  }
  deliverNotifications(handle: NotificationHandler, limit: number): Promise<number> {
    return this.inner.deliverNotifications ? this.inner.deliverNotifications(handle, limit) : Promise.resolve(0);
  }

  /** An authorization under the plan: one draw decides which fault, if any, this call meets. */
  private async decided(call: () => Promise<AuthorizeResult>): Promise<AuthorizeResult> {
    await this.delay();
    if (this.plan.down) throw new ProcessorUnreachable(`${this.name}: connection refused (injected: down)`);
    const draw = this.random();
    const { unreachable, lost_answer, dropped_request } = this.plan;
    if (draw < unreachable) throw new ProcessorUnreachable(`${this.name}: 503 before processing (injected)`);
    if (draw < unreachable + dropped_request) throw new ProcessorOutcomeUnknown(`${this.name}: request timed out (injected: dropped request)`);
    const result = await call();
    if (draw < unreachable + dropped_request + lost_answer) throw new ProcessorOutcomeUnknown(`${this.name}: answer lost after processing (injected)`);
    return result;
  }

  /** Any other call: only latency and `down` apply. */
  private async passed<T>(call: () => Promise<T>): Promise<T> {
    await this.delay();
    if (this.plan.down) throw new ProcessorUnreachable(`${this.name}: connection refused (injected: down)`);
    return call();
  }

  private async delay(): Promise<void> {
    if (this.plan.latency_ms > 0) await sleep(this.plan.latency_ms);
  }
}
