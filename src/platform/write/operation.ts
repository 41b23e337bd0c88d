import type { Db, SqlFragment } from '../db.js';
import type { IdGenerator } from '../../kernel/ids.js';
import type { PayrailError } from '../../kernel/errors.js';
import type { EventRequest } from '../../services/events/outbox.js';

/** What a use case answers: a Stripe object, or an expected failure that is still a stored result. */
export type Outcome = { ok: Record<string, unknown> } | { error: PayrailError };

/**
 * One API operation's context, given to use cases by the gateway. `commit` is the only write path:
 * it writes the use case's effects, its outbox events and the idempotency record in one statement.
 */
export interface OperationContext {
  merchant_id: string;
  request: EventRequest;
  now_ms: number;
  now_s: number;
  ids: IdGenerator;
  commit(db: Db, writes: SqlFragment[], outcome: Outcome): Promise<void>;
}
