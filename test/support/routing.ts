import type { Connector } from '../../src/services/connectors/index.js';
import type { ConnectorDirectory } from '../../src/services/connectors/index.js';

/**
 * A fixed directory of connector accounts for router tests: every merchant tries `order`, in order
 * (accounts the health view says are unavailable go last, as routing's chooseRoute does). `order` may
 * be a function of the attempt id, for splits.
 */
export function staticDirectory(
  accounts: Readonly<Record<string, Connector>>,
  order: readonly string[] | ((attempt_id: string) => readonly string[]),
): ConnectorDirectory {
  return {
    route: (payment, health) => {
      const listed = typeof order === 'function' ? order(payment.attempt_id) : order;
      const available = listed.filter((id) => health.isAvailable(id));
      const unavailable = listed.filter((id) => !available.includes(id));
      return Promise.resolve([
        ...available.map((account_id, index) => ({ account_id, reason: `test order #${index + 1}` })),
        ...unavailable.map((account_id) => ({ account_id, reason: 'unavailable: tried last' })),
      ]);
    },
    open: (_merchant_id, account_id) => {
      const connector = accounts[account_id] ?? accounts.sandbox;
      if (!connector) throw new Error(`no test connector account ${account_id}`);
      return Promise.resolve(connector);
    },
  };
}

/** Counts calls per operation to a connector, passing them on. */
export function countingConnector(inner: Connector): Connector & { calls: Record<string, number> } {
  const calls: Record<string, number> = {};
  const count = (name: string) => {
    calls[name] = (calls[name] ?? 0) + 1;
  };
  return {
    name: inner.name,
    calls,
    authorize: (request) => (count('authorize'), inner.authorize(request)),
    verify: (request) => (count('verify'), inner.verify(request)),
    completeAuthentication: (id, ok) => (count('completeAuthentication'), inner.completeAuthentication(id, ok)),
    capture: (id, amount) => (count('capture'), inner.capture(id, amount)),
    void: (id) => (count('void'), inner.void(id)),
    refund: (refund_id, id, amount) => (count('refund'), inner.refund(refund_id, id, amount)),
    attemptStatus: (id) => (count('attemptStatus'), inner.attemptStatus(id)),
    refundStatus: (id) => (count('refundStatus'), inner.refundStatus(id)),
  };
}

/**
 * A connector the platform is started with before its target exists: the router needs the platform's
 * database (its tries, the sandbox's record), so a test builds it once the platform is up and sets it here.
 */
export class LateConnector implements Connector {
  readonly name = 'router';
  target?: Connector;

  private get connector(): Connector {
    if (!this.target) throw new Error('the late connector was called before its target was set');
    return this.target;
  }
  authorize: Connector['authorize'] = (request, plan) => this.connector.authorize(request, plan);
  /** Forwarded, so a payment's first try is recorded with its attempt, as with the router unwrapped. */
  planTry: NonNullable<Connector['planTry']> = (request) => this.connector.planTry?.(request) ?? Promise.resolve(null);
  verify: Connector['verify'] = (request) => this.connector.verify(request);
  completeAuthentication: Connector['completeAuthentication'] = (id, ok) => this.connector.completeAuthentication(id, ok);
  capture: Connector['capture'] = (id, amount) => this.connector.capture(id, amount);
  void: Connector['void'] = (id) => this.connector.void(id);
  refund: Connector['refund'] = (refund_id, id, amount) => this.connector.refund(refund_id, id, amount);
  attemptStatus: Connector['attemptStatus'] = (id) => this.connector.attemptStatus(id);
  refundStatus: Connector['refundStatus'] = (id) => this.connector.refundStatus(id);
  deliverNotifications: NonNullable<Connector['deliverNotifications']> = (handle, limit) =>
    this.connector.deliverNotifications?.(handle, limit) ?? Promise.resolve(0);
}
