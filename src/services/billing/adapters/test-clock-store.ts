import type { Db, SqlFragment } from '../../../platform/db.js';
import { run, sql } from '../../../platform/db.js';
import type { Page, PageRequest } from '../../../platform/pagination.js';
import { listPage } from '../../../platform/pagination.js';
import { PayrailError } from '../../../kernel/errors.js';
import type { TestClock } from '../domain/test-clock.js';

/** SQL for billing.test_clocks. Writes are fragments the write pipeline commits (each must touch its row). */

const CLOCK_JSON = `json_build_object('merchant_id', merchant_id, 'id', id, 'created', created, 'deletes_after', deletes_after,
  'frozen_time', frozen_time, 'name', name, 'status', status, 'billed_to', billed_to, 'version', version)`;

export function insertTestClock(clock: TestClock): SqlFragment {
  return sql`INSERT INTO billing.test_clocks (merchant_id, id, created, deletes_after, frozen_time, name, status, billed_to, version)
    VALUES (${clock.merchant_id}, ${clock.id}, ${clock.created}, ${clock.deletes_after}, ${clock.frozen_time}, ${clock.name}, ${clock.status},
      ${clock.billed_to}, ${clock.version})`;
}

/** Affects no row when another request changed the clock first (the pipeline then refuses the commit). */
export function updateTestClock(clock: TestClock, previous_version: number): SqlFragment {
  return sql`UPDATE billing.test_clocks SET frozen_time = ${clock.frozen_time}, status = ${clock.status}, billed_to = ${clock.billed_to},
      version = ${clock.version}
    WHERE merchant_id = ${clock.merchant_id} AND id = ${clock.id} AND version = ${previous_version}`;
}

export function deleteTestClock(clock: TestClock): SqlFragment {
  return sql`DELETE FROM billing.test_clocks WHERE merchant_id = ${clock.merchant_id} AND id = ${clock.id} AND version = ${clock.version}`;
}

/** A clock past its `deletes_after` is gone, as Stripe deletes it then. */
export async function getTestClock(db: Db, merchant_id: string, id: string, now_s: number): Promise<TestClock> {
  const found = await run<TestClock>(
    db,
    sql`SELECT merchant_id, id, created, deletes_after, frozen_time, name, status, billed_to, version FROM billing.test_clocks
      WHERE merchant_id = ${merchant_id} AND id = ${id} AND deletes_after > ${now_s}`,
  );
  const clock = found.rows[0];
  if (!clock) throw new PayrailError('resource_missing', { param: 'test_clock', message: `No such test_clock: '${id.slice(0, 64)}'` });
  return clock;
}

export function listTestClocks(db: Db, merchant_id: string, now_s: number, page: PageRequest): Promise<Page<TestClock>> {
  return listPage<TestClock>(db, { table: 'billing.test_clocks', column: CLOCK_JSON }, merchant_id, [sql`deletes_after > ${now_s}`], page);
}

/** Clocks left `advancing` (their runner died, or never started), across merchants: the sweep finishes them. */
export async function advancingClocks(db: Db, limit: number): Promise<{ merchant_id: string; id: string }[]> {
  const found = await run<{ merchant_id: string; id: string }>(
    db,
    sql`SELECT merchant_id, id FROM billing.test_clocks WHERE status = 'advancing' ORDER BY id LIMIT ${limit}`,
  );
  return found.rows;
}
