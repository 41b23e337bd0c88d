import type { Db } from '../../../platform/db.js';
import type { PageRequest } from '../../../platform/pagination.js';
import type { OperationContext, Outcome } from '../../../platform/write/operation.js';
import { PayrailError } from '../../../kernel/errors.js';
import { outboxInsert } from '../../events/index.js';
import type { TestClock } from '../domain/test-clock.js';
import { advanceProblem, newTestClock, renderTestClock, startAdvance } from '../domain/test-clock.js';
import * as Store from '../adapters/test-clock-store.js';
import * as Sub from '../domain/subscription.js';
import { liveClockSubscriptions, updateSubscription } from '../adapters/subscription-store.js';
import { clockCustomersDeletion } from '../../payments/index.js';
import { subscriptionDeletedEvent } from './subscription-events.js';

/**
 * `/v1/test_helpers/test_clocks` (test keys only: the gateway refuses test helpers to live keys). Each
 * change is one commit with its event: `test_helpers.test_clock.created`; an advance commits the new
 * `frozen_time` with status `advancing` and `.advancing`, and its billing work then runs in the
 * background (app/clock-advance.ts), which ends with `ready` and `.ready`; `.deleted`.
 */
/** Stripe's test clock events, written out so the event-type test finds each one. */
export const CLOCK_EVENTS = {
  created: { type: 'test_helpers.test_clock.created' },
  advancing: { type: 'test_helpers.test_clock.advancing' },
  ready: { type: 'test_helpers.test_clock.ready' },
  internal_failure: { type: 'test_helpers.test_clock.internal_failure' },
  deleted: { type: 'test_helpers.test_clock.deleted' },
} as const;

export function clockEvents(ctx: OperationContext, clock: TestClock, kinds: readonly (keyof typeof CLOCK_EVENTS)[]) {
  const object = renderTestClock(clock) as { id: string };
  return outboxInsert(
    ctx.ids,
    ctx.merchant_id,
    ctx.now_s,
    ctx.request,
    kinds.map((kind) => ({ type: CLOCK_EVENTS[kind].type, object })),
  );
}

export async function createTestClock(ctx: OperationContext, params: { frozen_time: number; name?: string | undefined }): Promise<Outcome> {
  const clock = newTestClock({
    merchant_id: ctx.merchant_id,
    id: ctx.ids.next('test_clock'),
    now_s: ctx.now_s,
    frozen_time: params.frozen_time,
    name: params.name ?? null,
  });
  const outcome: Outcome = { ok: renderTestClock(clock) };
  await ctx.commit([Store.insertTestClock(clock), clockEvents(ctx, clock, ['created'])], outcome);
  return outcome;
}

export async function advanceTestClock(ctx: OperationContext, id: string, params: { frozen_time: number }): Promise<Outcome> {
  const before = await Store.getTestClock(ctx.reader, ctx.merchant_id, id, ctx.now_s);
  const problem = advanceProblem(before, params.frozen_time);
  if (problem) throw new PayrailError('parameter_invalid', { param: 'frozen_time', message: problem });
  const advancing = startAdvance(before, params.frozen_time);
  const outcome: Outcome = { ok: renderTestClock(advancing) };
  await ctx.commit([Store.updateTestClock(advancing, before.version), clockEvents(ctx, advancing, ['advancing'])], outcome);
  return outcome;
}

/**
 * As on Stripe, deleting a clock deletes its customers and cancels their live subscriptions (at the
 * clock's frozen time), all in the clock's one commit with their events.
 */
export async function deleteTestClock(ctx: OperationContext, id: string): Promise<Outcome> {
  const clock = await Store.getTestClock(ctx.reader, ctx.merchant_id, id, ctx.now_s);
  const subscriptions = await liveClockSubscriptions(ctx.reader, ctx.merchant_id, clock.id);
  const ended = { canceled_at: clock.frozen_time, ended_at: clock.frozen_time, cancellation_reason: 'cancellation_requested' } as const;
  const canceled = subscriptions.map((before) => ({
    before,
    after: Sub.evolve(before, { status: before.status === 'incomplete' ? 'incomplete_expired' : 'canceled', ...ended }),
  }));
  const events = await Promise.all(canceled.map(({ after }) => subscriptionDeletedEvent(ctx, after)));
  const outcome: Outcome = { ok: { id: clock.id, object: 'test_helpers.test_clock', deleted: true } };
  await ctx.commit(
    [
      ...canceled.flatMap(({ before, after }) => updateSubscription(after, before.version)),
      ...(events.length > 0 ? [outboxInsert(ctx.ids, ctx.merchant_id, ctx.now_s, ctx.request, events)] : []),
      ...(await clockCustomersDeletion(ctx, clock.id)),
      Store.deleteTestClock(clock),
      clockEvents(ctx, clock, ['deleted']),
    ],
    outcome,
  );
  return outcome;
}

export async function retrieveTestClock(db: Db, merchant_id: string, id: string, now_s: number): Promise<Record<string, unknown>> {
  return renderTestClock(await Store.getTestClock(db, merchant_id, id, now_s));
}

export async function listTestClocks(db: Db, merchant_id: string, now_s: number, page: PageRequest) {
  const found = await Store.listTestClocks(db, merchant_id, now_s, page);
  return { data: found.data.map(renderTestClock), has_more: found.has_more };
}
