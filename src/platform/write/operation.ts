import type { Db, SqlFragment } from '../db.js';
import type { RowsWrite } from '../row-writes.js';
import type { IdGenerator, IdKind } from '../../kernel/ids.js';
import type { PayrailError } from '../../kernel/errors.js';

/** The request an operation runs for, as its events record it (Stripe's `event.request`). */
export interface EventRequest {
  id: string | null;
  idempotency_key: string | null;
}

/**
 * An outbox write that says which objects its events hold, each as the JSON text stored for it (the
 * event's `data.object`). A response equal to one of them is stored as a reference to that event
 * instead of a second copy (pipeline.ts, idempotency.ts).
 */
export interface EventsWrite extends RowsWrite {
  /** The merchant whose events these are: only a response of the same merchant may refer to one. */
  readonly merchant_id: string;
  readonly event_objects: ReadonlyArray<{ readonly event_id: string; readonly object: object; readonly json: string }>;
}

export function isEventsWrite(write: SqlFragment): write is EventsWrite {
  return 'event_objects' in write;
}

/** Who asked for an operation, for audit records: the API key's id and the client's address over HTTP; null from the CLI or a job. */
export interface OperationActor {
  api_key_id: string | null;
  client_ip: string | null;
  /** An operator at the command line, rather than the platform's own work (a job, the sweeper). */
  operator?: boolean;
}

/** What a use case answers: a Stripe object, or an expected failure that is still a stored result. */
export type Outcome = { ok: Record<string, unknown> } | { error: PayrailError };

/**
 * One operation's context, given to a use case by the write pipeline (src/platform/write/pipeline.ts),
 * whoever calls it: HTTP, the CLI, a scheduled job or a consumer. A use case gets no pool: it reads
 * through `reader`, whose connections are read-only, and writes only through `record` and `commit`,
 * so no write can escape the idempotency lock, the guards and the one final commit.
 */
export interface OperationContext {
  merchant_id: string;
  request: EventRequest;
  actor: OperationActor;
  now_ms: number;
  now_s: number;
  /** Ids for new objects: the ones reserved with the Idempotency-Key first, so a retry reuses them. */
  ids: IdGenerator;
  /** Read-only connections: a write through them fails in the database. */
  reader: Db;
  /** This process's lease key (src/platform/write/lease.ts), stored beside work it leaves in flight; null while it renews. */
  holder: number | null;
  /** True when this run took over its key from a request that died: settle what that one left first. */
  resumed: boolean;
  /** The id reserved for `kind` under this request's key, without using it; null without a key. */
  reserved(kind: IdKind): string | null;
  /**
   * Commits writes durably before a call to the outside world (a processor): the attempt exists
   * before anyone outside hears of it. Fails with `lock_timeout` if the key was taken over or a
   * version guard failed, and nothing is written then.
   */
  record(writes: SqlFragment[]): Promise<void>;
  /** The final commit: the use case's effects, its events and the stored response, in one statement. */
  commit(writes: SqlFragment[], outcome: Outcome): Promise<void>;
}
