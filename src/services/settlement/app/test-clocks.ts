import type { Db } from '../../../platform/db.js';
import type { PageRequest } from '../../../platform/pagination.js';
import type { OperationContext, Outcome } from '../../../platform/write/operation.js';
import { PayrailError } from '../../../kernel/errors.js';
import { outboxInsert } from '../../events/index.js';
import type { TestClock } from '../domain/test-clock.js';
import { advanceProblem, newTestClock, renderTestClock } from '../domain/test-clock.js';
import * as Store from '../adapters/test-clock-store.js';

/**
 * `/v1/test_helpers/test_clocks` (test keys only: the gateway refuses test helpers to live keys). Each
 * change is one commit with its event: `test_helpers.test_clock.created`; an advance emits `.advancing`
 * and, nothing being attached to the clock yet, `.ready` at once; `.deleted`.
 */
/** Stripe's test clock events, written out so the event-type test finds each one. */
const EVENTS = {
  created: { type: 'test_helpers.test_clock.created' },
  advancing: { type: 'test_helpers.test_clock.advancing' },
  ready: { type: 'test_helpers.test_clock.ready' },
  deleted: { type: 'test_helpers.test_clock.deleted' },
} as const;

function events(ctx: OperationContext, clock: TestClock, kinds: readonly (keyof typeof EVENTS)[]) {
  const object = renderTestClock(clock) as { id: string };
  return outboxInsert(
    ctx.ids,
    ctx.merchant_id,
    ctx.now_s,
    ctx.request,
    kinds.map((kind) => ({ type: EVENTS[kind].type, object })),
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
  await ctx.commit([Store.insertTestClock(clock), events(ctx, clock, ['created'])], outcome);
  return outcome;
}

export async function advanceTestClock(ctx: OperationContext, id: string, params: { frozen_time: number }): Promise<Outcome> {
  const before = await Store.getTestClock(ctx.reader, ctx.merchant_id, id, ctx.now_s);
  const problem = advanceProblem(before, params.frozen_time);
  if (problem) throw new PayrailError('parameter_invalid', { param: 'frozen_time', message: problem });
  const advanced: TestClock = { ...before, frozen_time: params.frozen_time, status: 'ready', version: before.version + 1 };
  const outcome: Outcome = { ok: renderTestClock(advanced) };
  await ctx.commit([Store.updateTestClock(advanced, before.version), events(ctx, advanced, ['advancing', 'ready'])], outcome);
  return outcome;
}

export async function deleteTestClock(ctx: OperationContext, id: string): Promise<Outcome> {
  const clock = await Store.getTestClock(ctx.reader, ctx.merchant_id, id, ctx.now_s);
  const outcome: Outcome = { ok: { id: clock.id, object: 'test_helpers.test_clock', deleted: true } };
  await ctx.commit([Store.deleteTestClock(clock), events(ctx, clock, ['deleted'])], outcome);
  return outcome;
}

export async function retrieveTestClock(db: Db, merchant_id: string, id: string, now_s: number): Promise<Record<string, unknown>> {
  return renderTestClock(await Store.getTestClock(db, merchant_id, id, now_s));
}

export async function listTestClocks(db: Db, merchant_id: string, now_s: number, page: PageRequest) {
  const found = await Store.listTestClocks(db, merchant_id, now_s, page);
  return { data: found.data.map(renderTestClock), has_more: found.has_more };
}
