import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { listOf, pageOf, pathParam, routeKit } from '../../../platform/http/routes.js';
import * as P from '../../../platform/http/params.js';
import { expandable, expandableList } from '../../../platform/http/expandable.js';
import { unixSeconds } from '../../../kernel/clock.js';
import { TEST_CLOCK_LIMITS } from '../domain/test-clock.js';
import type { BillingDeps } from '../app/deps.js';
import * as Clocks from '../app/test-clocks.js';
import { advanceClock } from '../app/clock-advance.js';

/**
 * Stripe's test clocks, `/v1/test_helpers/test_clocks` (test keys only), through the one write
 * pipeline. An advance answers at once with the clock `advancing`, as Stripe does; its billing work
 * starts after the commit in this process (and the billing job finishes it if this process dies).
 */

const noExpand = () => expandable(() => false).optional();
const frozenTime = () => P.integer({ min: 0, max: TEST_CLOCK_LIMITS.time_max });

const createSchema = z.strictObject({ frozen_time: frozenTime(), name: P.text(TEST_CLOCK_LIMITS.name_max).optional(), expand: noExpand() });
const advanceSchema = z.strictObject({ frozen_time: frozenTime(), expand: noExpand() });
const deleteSchema = z.strictObject({});
const retrieveSchema = z.strictObject({ expand: noExpand() });
const listSchema = z.strictObject({ ...P.listParams, expand: expandableList(() => false).optional() });

export function testClockRoutes(deps: BillingDeps) {
  return async (app: FastifyInstance): Promise<void> => {
    const { post, get } = routeKit(app, deps.write);
    const reader = deps.write.reader;
    const now_s = () => unixSeconds(deps.write.clock);
    const id = (r: Parameters<typeof pathParam>[0]) => pathParam(r, 'test_clock');

    post('/v1/test_helpers/test_clocks', createSchema, ['test_clock'], (ctx, p) => Clocks.createTestClock(ctx, p));
    post('/v1/test_helpers/test_clocks/:test_clock/advance', advanceSchema, [], async (ctx, p, r) => {
      const outcome = await Clocks.advanceTestClock(ctx, id(r), p);
      // Committed: the work runs in the background, and the client polls the clock until it is ready.
      void advanceClock(deps, ctx.merchant_id, id(r), deps.logger);
      return outcome;
    });
    post('/v1/test_helpers/test_clocks/:test_clock', deleteSchema, [], (ctx, _p, r) => Clocks.deleteTestClock(ctx, id(r)), 'DELETE');
    get('/v1/test_helpers/test_clocks/:test_clock', retrieveSchema, (m, _q, r) => Clocks.retrieveTestClock(reader, m, id(r), now_s()));
    get('/v1/test_helpers/test_clocks', listSchema, async (m, q) =>
      listOf('/v1/test_helpers/test_clocks', await Clocks.listTestClocks(reader, m, now_s(), pageOf(q))),
    );
  };
}
