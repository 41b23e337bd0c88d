import { AsyncLocalStorage } from 'node:async_hooks';

/**
 * The merchant a piece of work acts for, carried through its async calls. Pools opened with
 * `merchant_scoped` (db.ts) run each statement in a transaction that first sets `payrail.merchant_id`
 * to it, and the row-level security policies (rls.ts) show and accept only that merchant's rows. Work
 * outside any scope sees no merchant-scoped row at all through those pools.
 */
export const MERCHANT_SETTING = 'payrail.merchant_id';

/** Merchant ids are `acct_` and letters, digits or underscores: checked before one is written into SQL text. */
const MERCHANT_ID = /^acct_\w{1,64}$/;

const scope = new AsyncLocalStorage<string>();

/** Runs `work` acting for `merchant_id`; what it starts (awaits, timers, promises) inherits the scope. */
export function withMerchant<T>(merchant_id: string, work: () => T): T {
  assertMerchantId(merchant_id);
  return scope.run(merchant_id, work);
}

/** Runs `work` acting for no merchant, e.g. background work started from inside a request. */
export function outsideMerchant<T>(work: () => T): T {
  return scope.exit(work);
}

export function currentMerchant(): string | undefined {
  return scope.getStore();
}

/**
 * The statement that scopes the current transaction to `merchant_id`. Sent with BEGIN in one round
 * trip as simple-protocol text (which takes no parameters), so the id is checked against its format
 * first; the format leaves nothing to escape. `SET LOCAL`, not `SELECT set_config(…, true)`: the same
 * setting for the same transaction, but a utility command, which PostgreSQL neither plans nor
 * answers with a row (the SELECT was planned anew in every transaction).
 */
export function merchantScopeStatement(merchant_id: string): string {
  assertMerchantId(merchant_id);
  return `SET LOCAL ${MERCHANT_SETTING} = '${merchant_id}'`;
}

function assertMerchantId(merchant_id: string): void {
  if (!MERCHANT_ID.test(merchant_id)) throw new Error('not a merchant id: the merchant scope takes acct_ followed by letters, digits or underscores');
}
