import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MigratedDatabase } from '../support/database.js';
import { createMigratedPool } from '../support/database.js';
import { UlidGenerator } from '../../src/kernel/ids.js';
import { combineWrites, isGuardFailure, run } from '../../src/platform/db.js';
import { MAX_RULES_PER_MERCHANT, addRule, updateRule } from '../../src/services/risk/index.js';
import type { ValueList } from '../../src/services/risk/adapters/value-lists-store.js';
import { deleteList, findList, insertList, updateList } from '../../src/services/risk/adapters/value-lists-store.js';

/**
 * A value list a rule names cannot be deleted or renamed (value-lists.ts checks the rules first), but
 * that check reads before the list's write commits. A rule naming the list, committed in between, must
 * make the list's write fail its version guard (the request is retried and then refused), never leave
 * the rule naming a list that is gone: every payment of the merchant would then fail closed to review.
 */

let db: MigratedDatabase;
const ids = new UlidGenerator();
const change = () => ({ now_ms: Date.now(), actor: { type: 'system' as const } });

beforeAll(async () => {
  db = await createMigratedPool(4);
}, 60_000);
afterAll(async () => {
  await db?.drop();
});

async function newList(merchant_id: string, alias: string): Promise<ValueList> {
  const list: ValueList = {
    merchant_id,
    id: ids.next('value_list'),
    alias,
    name: alias,
    item_type: 'email',
    metadata: {},
    created_by: 'test',
    livemode: false,
    created: 1,
    version: 1,
  };
  await run(db.pool, combineWrites([insertList(list, 1000)]));
  return list;
}

/** The list's write as value-lists.ts commits it: one guarded statement, with the version it read. */
async function commitListWrite(write: ReturnType<typeof deleteList>): Promise<'written' | 'guard failed'> {
  return run(db.pool, combineWrites([write])).then(
    () => 'written' as const,
    (error: unknown) => {
      if (isGuardFailure(error)) return 'guard failed' as const;
      throw error;
    },
  );
}

describe('a rule naming a list, committed while the list is being deleted or renamed', () => {
  it('makes the delete fail its version guard: the list the rule names stays', async () => {
    const list = await newList('acct_raceA', 'trusted');
    // The delete has read the list (version 1) and found no rule naming it; then a rule is added.
    const rule = await addRule({ pool: db.pool, ids }, 'acct_raceA', 'Allow if :email: in @trusted', change());
    expect(await commitListWrite(deleteList(list))).toBe('guard failed');
    expect(await findList(db.pool, 'acct_raceA', list.id)).toMatchObject({ alias: 'trusted' });
    expect(rule.predicate).toBe(':email: in @trusted');
  });

  it('makes the rename fail its version guard, for a rule whose text changed to name the list too', async () => {
    const list = await newList('acct_raceB', 'vip');
    const rule = await addRule({ pool: db.pool, ids }, 'acct_raceB', 'Block if :risk_score: > 90', change());
    await updateRule({ pool: db.pool, ids }, 'acct_raceB', rule.id, 'Allow if :email: in @vip', change());
    const renamed = { ...list, alias: 'vip_old', version: list.version + 1 };
    expect(await commitListWrite(updateList(renamed, list.version))).toBe('guard failed');
    expect(await findList(db.pool, 'acct_raceB', list.id)).toMatchObject({ alias: 'vip' });
  });

  it('a list no rule names is deleted at the version it was read', async () => {
    const list = await newList('acct_raceC', 'unused');
    await addRule({ pool: db.pool, ids }, 'acct_raceC', 'Block if :risk_score: > 90', change());
    expect(await commitListWrite(deleteList(list))).toBe('written');
    expect(await findList(db.pool, 'acct_raceC', list.id)).toBeUndefined();
  });
});

describe('rules added at once', () => {
  it('never pass the per-merchant limit, and each gets a place of its own', async () => {
    // Each counts the merchant's rules and takes the next place in its transaction: unserialized, all six fit.
    const store = { pool: db.pool, ids };
    for (let i = 0; i < MAX_RULES_PER_MERCHANT - 3; i++) await addRule(store, 'acct_raceD', `Block if :risk_score: > ${i}`, change());
    const racing = await Promise.allSettled(Array.from({ length: 6 }, (_, i) => addRule(store, 'acct_raceD', `Review if :risk_score: > ${i}`, change())));
    expect(racing.filter((result) => result.status === 'fulfilled')).toHaveLength(3);
    const rows = await db.pool.query<{ n: number; places: number }>(
      `SELECT count(*)::int AS n, count(DISTINCT position)::int AS places FROM risk.rules WHERE merchant_id = 'acct_raceD'`,
    );
    expect(rows.rows[0]).toEqual({ n: MAX_RULES_PER_MERCHANT, places: MAX_RULES_PER_MERCHANT });
  });
});
