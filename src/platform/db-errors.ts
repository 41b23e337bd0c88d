/**
 * What a database error means for the caller: a constraint that names a retry's duplicate, a guard
 * that refused a write, a lock or serialization conflict worth retrying, or the connection itself gone.
 */
export function isUniqueViolation(error: unknown): boolean {
  return (error as { code?: string }).code === '23505';
}

export function isGuardFailure(error: unknown): boolean {
  return (error as { message?: string }).message?.includes('payrail_guard_failed') ?? false;
}

export function isLockNotAvailable(error: unknown): boolean {
  return (error as { code?: string }).code === '55P03';
}

/**
 * Failures of the connection itself, whatever the statement: socket errors, PostgreSQL ending the
 * session (administrator, crash, shutdown, idle timeouts), and the driver's own timeouts and
 * refusals to use a connection that already failed. The transaction, if any, is gone with it.
 */
const SOCKET_ERROR_CODES: ReadonlySet<string> = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EAI_AGAIN',
]);
const SESSION_ENDED_SQLSTATES: ReadonlySet<string> = new Set([
  '57P01', // admin_shutdown: pg_terminate_backend, or a fast shutdown
  '57P02', // crash_shutdown
  '57P03', // cannot_connect_now: starting up, shutting down, in recovery
  '57P05', // idle_session_timeout
  '25P03', // idle_in_transaction_session_timeout
]);
const DRIVER_CONNECTION_ERRORS =
  /^(Connection terminated|Query read timeout|timeout exceeded when trying to connect|timeout expired|Client has encountered a connection error|Client was closed)/;

/**
 * Statements refused for now by a database that is overloaded or too slow. Not 25006 (read-only
 * transaction): the read pool is read-only on purpose, and a write through it is a bug to fail loudly.
 */
const UNAVAILABLE_SQLSTATES: ReadonlySet<string> = new Set([
  '53300', // too_many_connections
  '57014', // query_canceled: statement_timeout
]);

/** How deep `cause` chains are followed (the pool wraps its connection timeout in one). */
const ERROR_CAUSE_DEPTH_MAX = 3;

export function isConnectionBroken(error: unknown): boolean {
  return someCause(error, (e) => {
    const code = typeof e.code === 'string' ? e.code : '';
    return (
      SOCKET_ERROR_CODES.has(code) ||
      SESSION_ENDED_SQLSTATES.has(code) ||
      code.startsWith('08') ||
      (typeof e.message === 'string' && DRIVER_CONNECTION_ERRORS.test(e.message))
    );
  });
}

/**
 * The database is lost, frozen, refusing or too slow: nothing about the request is wrong, and the
 * same request retried shortly may succeed (the API answers 503 `service_unavailable`).
 */
export function isDatabaseUnavailable(error: unknown): boolean {
  return isConnectionBroken(error) || someCause(error, (e) => typeof e.code === 'string' && UNAVAILABLE_SQLSTATES.has(e.code));
}

/** Serialization failure or deadlock: this transaction lost to a concurrent one and may be retried. */
export function isTransactionConflict(error: unknown): boolean {
  const code = (error as { code?: string } | null)?.code;
  return code === '40001' || code === '40P01';
}

/**
 * A short label for logs (an error code, or the driver's kind of timeout): database error messages
 * may name hosts and users, so they are not logged for failures this common.
 */
export function databaseFailureLabel(error: unknown): string {
  let label = 'unknown';
  someCause(error, (e) => {
    if (typeof e.code === 'string' && e.code !== '') label = e.code;
    else if (typeof e.message === 'string' && DRIVER_CONNECTION_ERRORS.test(e.message)) label = DRIVER_CONNECTION_ERRORS.exec(e.message)?.[1] ?? label;
    else return false;
    return true;
  });
  return label;
}

function someCause(error: unknown, test: (error: { code?: unknown; message?: unknown }) => boolean): boolean {
  let current: unknown = error;
  for (let depth = 0; depth <= ERROR_CAUSE_DEPTH_MAX && typeof current === 'object' && current !== null; depth += 1) {
    if (test(current)) return true;
    current = (current as { cause?: unknown }).cause;
  }
  return false;
}

/** Joins fragments with a separator, keeping each one's values in order. */
