import type { Db, Pool, SqlFragment } from '../db.js';
import { combineWrites, isGuardFailure, isUniqueViolation, run } from '../db.js';
import { runGrouped } from '../group-commit.js';
import { combineRowWrites, isRowsWrite } from '../row-writes.js';
import { withMerchant } from '../merchant-scope.js';
import type { Clock } from '../../kernel/clock.js';
import type { IdGenerator, IdKind } from '../../kernel/ids.js';
import { PayrailError } from '../../kernel/errors.js';
import type { EventsWrite, OperationActor, OperationContext, Outcome } from './operation.js';
import { isEventsWrite } from './operation.js';
import type { IdempotencyLock, StoredResponse } from './idempotency.js';
import * as Idempotency from './idempotency.js';
import { notifyCommit } from './commit-signal.js';

/**
 * The one write path: idempotency lock → use case → one statement with effects, events and the
 * stored response. HTTP routes, the CLI, scheduled jobs and consumers all run use cases through it,
 * with the same guarantees.
 */
export interface WriteDeps {
  /** Read-write pool: only this module and the idempotency lock write through it. */
  pool: Pool;
  /** Read-only pool handed to use cases. */
  reader: Pool;
  ids: IdGenerator;
  clock: Clock;
  /** This process's lease (src/platform/write/lease.ts): its current key marks what a request holds. */
  lease: { readonly key: number | null };
  /** Secret for the keyed request hash stored with each Idempotency-Key. */
  hash_key: Buffer;
  /** Renders an expected failure as a stored response body (Stripe's error shape). */
  render_error: (error: PayrailError) => Record<string, unknown>;
}

export interface UseCase<P> {
  /** The kinds of object this use case creates: their ids are reserved with the key. */
  reserves: readonly IdKind[];
  run(ctx: OperationContext, params: P): Promise<Outcome>;
}

export interface WriteRequest {
  merchant_id: string;
  /** The request id events carry (an API request id, or a job's id). */
  request_id: string | null;
  /** Who asked (HTTP: the API key and client address), for audit records. */
  actor?: OperationActor;
  /** With a key, the operation runs at most once per key and parameters; without, every call runs. */
  idempotency?: { key: string; method: string; path: string; params: unknown };
}

export interface WriteResult {
  response: StoredResponse;
  replayed: boolean;
}

/** Conflicts and overload say nothing about the request itself, so they are never stored. */
const RETRYABLE: ReadonlySet<string> = new Set(['lock_timeout', 'idempotency_key_in_use', 'rate_limit', 'service_unavailable']);

/**
 * Checks of the request's own values that a use case makes before it does anything (amount below the
 * currency minimum, a card number that fails Luhn). Like schema errors they are not stored, so the
 * key can be retried with corrected parameters, as Stripe allows. A key taken over from a request that
 * died keeps its record either way: the dead request may have reached the processor with its ids.
 */
const VALIDATION: ReadonlySet<string> = new Set([
  'parameter_unknown',
  'parameter_missing',
  'parameter_invalid_integer',
  'parameter_invalid_empty',
  'parameter_invalid',
  'parameters_exclusive',
  'currency_invalid',
  'amount_too_small',
  'amount_too_large',
  'metadata_invalid',
  'invalid_number',
  'incorrect_number',
  'invalid_expiry_month',
  'invalid_expiry_year',
  'invalid_cvc',
]);

/**
 * Runs inside the request's merchant scope: every statement through `deps.pool` and `deps.reader`
 * is bound by row-level security to that merchant's rows, whatever its SQL says.
 */
export function execute<P>(deps: WriteDeps, request: WriteRequest, use_case: UseCase<P>, params: P): Promise<WriteResult> {
  return withMerchant(request.merchant_id, () => executeScoped(deps, request, use_case, params));
}

async function executeScoped<P>(deps: WriteDeps, request: WriteRequest, use_case: UseCase<P>, params: P): Promise<WriteResult> {
  const now_ms = deps.clock.now_ms();
  let lock: IdempotencyLock | undefined;
  if (request.idempotency) {
    const { key, method, path, params: raw } = request.idempotency;
    Idempotency.validateKey(key);
    const hash = Idempotency.requestHash(deps.hash_key, method, path, raw);
    const acquired = await Idempotency.acquire(deps.pool, deps.ids, {
      merchant_id: request.merchant_id,
      key,
      hash,
      now_ms,
      reserves: use_case.reserves,
      holder: deps.lease.key,
    });
    if (acquired.kind === 'replay') return { response: acquired.response, replayed: true };
    lock = acquired.lock;
  }
  const ctx = new Operation(deps, request, lock, now_ms);
  try {
    const outcome = await use_case.run(ctx, params);
    return { response: ctx.stored ?? renderOutcome(deps, outcome), replayed: false };
  } catch (error) {
    if (lock) await settleLock(deps, lock, error);
    throw error;
  }
}

/** After a throw: forget the key (validation), store the error (expected failure), or free it for a retry. */
async function settleLock(deps: WriteDeps, lock: IdempotencyLock, error: unknown): Promise<void> {
  if (lock.first_attempt && error instanceof PayrailError && VALIDATION.has(error.code)) {
    await Idempotency.forget(deps.pool, lock).catch(() => {});
  } else if (error instanceof PayrailError && !RETRYABLE.has(error.code)) {
    // Unstored (the database went away), the key is freed instead: the retry runs the use case again.
    await run(deps.pool, Idempotency.completion(lock, renderOutcome(deps, { error }))).catch(() => releaseLater(deps.pool, lock));
  } else {
    await Idempotency.release(deps.pool, lock).catch(() => releaseLater(deps.pool, lock));
  }
}

/**
 * Locks whose release failed (the database was unreachable when the request failed), released again
 * in the background so their retries need not wait for the stale limit. Bounded: past it, the stale
 * limit or the end of the process lease frees them.
 */
const RELEASE_RETRY_MAX = 1_000;
const RELEASE_RETRY_INTERVAL_MS = 500;
const RELEASE_RETRY_FOR_MS = Idempotency.IDEMPOTENCY_LOCK_STALE_MS;
const unreleased = new Map<string, { pool: Pool; lock: IdempotencyLock; until_ms: number }>();
let release_timer: NodeJS.Timeout | undefined;
let releasing = false;

function releaseLater(pool: Pool, lock: IdempotencyLock): void {
  if (unreleased.size >= RELEASE_RETRY_MAX) return;
  unreleased.set(lock.token, { pool, lock, until_ms: Date.now() + RELEASE_RETRY_FOR_MS });
  release_timer ??= setInterval(() => void retryReleases(), RELEASE_RETRY_INTERVAL_MS).unref();
}

async function retryReleases(): Promise<void> {
  if (releasing) return;
  releasing = true;
  for (const [token, entry] of unreleased) {
    // Each lock in its own merchant's scope: the timer runs in the scope of whichever request started it.
    const done = await withMerchant(entry.lock.merchant_id, () => Idempotency.release(entry.pool, entry.lock)).then(
      () => true,
      () => Date.now() > entry.until_ms,
    );
    if (done) unreleased.delete(token);
  }
  releasing = false;
  if (unreleased.size === 0 && release_timer) {
    clearInterval(release_timer);
    release_timer = undefined;
  }
}

export function renderOutcome(deps: Pick<WriteDeps, 'render_error'>, outcome: Outcome): StoredResponse {
  if ('ok' in outcome) return { status: 200, body: JSON.stringify(outcome.ok) };
  return { status: outcome.error.status, body: JSON.stringify(deps.render_error(outcome.error)) };
}

type EventObject = EventsWrite['event_objects'][number];

/**
 * The event among `writes` whose object is the response (the same rendering): its stored text is the
 * response's body, and the idempotency key keeps a reference to it rather than a copy.
 */
function eventHolding(writes: readonly EventsWrite[], object: object): EventObject | undefined {
  return findEvent(writes, (event) => event.object === object);
}

/** The event among `writes` whose object, as stored, is exactly `text` (a rendering of the same state). */
function eventWithText(writes: readonly EventsWrite[], text: string): EventObject | undefined {
  return findEvent(writes, (event) => event.json === text);
}

function findEvent(writes: readonly EventsWrite[], matches: (event: EventObject) => boolean): EventObject | undefined {
  for (const write of writes) {
    const found = write.event_objects.find(matches);
    if (found) return found;
  }
  return undefined;
}

class Operation implements OperationContext {
  readonly merchant_id: string;
  readonly now_s: number;
  readonly ids: Idempotency.RequestIds;
  readonly request: { id: string | null; idempotency_key: string | null };
  readonly actor: OperationActor;
  readonly reader: Db;
  readonly resumed: boolean;
  readonly holder: number | null;
  stored: StoredResponse | undefined;

  constructor(
    private readonly deps: WriteDeps,
    request: WriteRequest,
    private readonly lock: IdempotencyLock | undefined,
    readonly now_ms: number,
  ) {
    this.merchant_id = request.merchant_id;
    this.now_s = Math.floor(now_ms / 1000);
    this.ids = new Idempotency.RequestIds(deps.ids, lock?.reserved ?? {});
    this.request = { id: request.request_id, idempotency_key: request.idempotency?.key ?? null };
    this.actor = request.actor ?? { api_key_id: null, client_ip: null };
    this.reader = deps.reader;
    this.resumed = lock !== undefined && !lock.first_attempt;
    this.holder = deps.lease.key;
  }

  reserved(kind: IdKind): string | null {
    return this.lock?.reserved[kind] ?? null;
  }

  async record(writes: SqlFragment[]): Promise<void> {
    const guarded = this.lock ? [...writes, Idempotency.stillHeld(this.lock, this.deps.clock.now_ms())] : writes;
    await this.write(guarded);
    notifyCommit();
  }

  async commit(writes: SqlFragment[], outcome: Outcome): Promise<void> {
    // Only this merchant's events: the stored key is read back in its merchant's scope.
    const own_events = writes.filter((write): write is EventsWrite => isEventsWrite(write) && write.merchant_id === this.merchant_id);
    const event = 'ok' in outcome ? eventHolding(own_events, outcome.ok) : undefined;
    const response = event ? { status: 200, body: event.json } : renderOutcome(this.deps, outcome);
    const event_id = event?.event_id ?? ('ok' in outcome ? eventWithText(own_events, response.body)?.event_id : undefined);
    await this.write(this.lock ? [...writes, Idempotency.completion(this.lock, response, event_id ?? null)] : writes);
    this.stored = response;
    notifyCommit();
  }

  private async write(writes: SqlFragment[]): Promise<void> {
    if (writes.length === 0) return;
    try {
      // Row writes only (a payment's hot path): concurrent requests of the merchant share the statement.
      await runGrouped(this.deps.pool, writes.every(isRowsWrite) ? combineRowWrites(writes) : combineWrites(writes));
    } catch (error) {
      // A duplicate id means a retry took over this request's stale lock and wrote its reserved ids first.
      if (isGuardFailure(error) || (this.lock && isUniqueViolation(error))) {
        throw new PayrailError('lock_timeout', { message: 'The object or idempotency key changed while this request ran; retry the request.' });
      }
      throw error;
    }
  }
}
