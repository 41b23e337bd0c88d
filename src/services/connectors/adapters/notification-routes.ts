/**
 * POST /connectors/:connector_account_id/notifications: where a processor (Adyen's standard
 * notifications, a Stripe webhook endpoint) pushes what happened to Payrail's payments. No API key:
 * the account's own connector checks the processor's signature over the raw body. Verified events are
 * stored by the connector (recordEvents) before the processor gets its acknowledgement, then an
 * authorization whose answer was lost is settled at once through the payments sweeper's own path.
 */
import type { FastifyInstance, FastifyReply } from 'fastify';
import type { Pool } from '../../../platform/db.js';
import { run, sql } from '../../../platform/db.js';
import type { Logger } from '../../../platform/logger.js';
import { withMerchant } from '../../../platform/merchant-scope.js';
import type { ConnectorAccounts } from '../app/connector-accounts-cache.js';
import type { BuiltConnector } from '../app/registry.js';
import type { NotificationVerifier, ProcessorEvent } from '../domain/port.js';
import { authorizationReferences } from '../domain/notified-attempts.js';

/** Adyen batches at most 100 items (a few kB each); a larger body is not a notification. */
export const NOTIFICATION_BODY_LIMIT_BYTES = 1024 * 1024;
const ACCOUNT_ID = /^mca_[0-9A-Za-z]{1,60}$/;

export interface NotificationRouteDeps {
  /** The system role's pool: the account is found by its id before its merchant is known. */
  pool: Pool;
  accounts: ConnectorAccounts;
  /** Settles the merchant's attempt if its answer is still unknown; a no-op otherwise (payments' settleNotifiedAttempt). */
  settle(merchant_id: string, attempt_id: string): Promise<boolean>;
  logger: Logger;
}

type Recorder = { recordEvents(events: readonly ProcessorEvent[]): Promise<void> };

export function connectorNotificationRoutes(deps: NotificationRouteDeps) {
  return async (app: FastifyInstance): Promise<void> => {
    // The signature covers the bytes as sent: no parser may touch them first (this plugin only).
    app.removeAllContentTypeParsers();
    app.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: NOTIFICATION_BODY_LIMIT_BYTES }, (_request, body, done) => done(null, body));

    app.post('/connectors/:connector_account_id/notifications', async (request, reply) => {
      const account_id = (request.params as { connector_account_id: string }).connector_account_id;
      const merchant_id = ACCOUNT_ID.test(account_id) ? await merchantOf(deps.pool, account_id) : null;
      if (merchant_id === null) return refuse(reply, 404, 'No such connector account.');
      const connector = await deps.accounts.connector(merchant_id, account_id);
      if (!isVerifier(connector)) return refuse(reply, 404, 'This connector account receives no notifications.');
      const raw_body = Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0);
      const verified = connector.verifyNotification(request.headers, raw_body);
      if (!verified.ok) {
        // The reason names what failed (never a key or the body): enough to fix a misconfigured endpoint.
        deps.logger.warn({ connector_account: account_id, reason: verified.reason }, 'processor notification refused');
        return refuse(reply, 401, 'The notification signature could not be verified.');
      }
      if (isRecorder(connector)) await connector.recordEvents(verified.events);
      await settleAuthorizations(deps, merchant_id, verified.events);
      return reply.status(verified.ack.status).type(verified.ack.content_type).send(verified.ack.body);
    });
  };
}

/**
 * Each attempt an authorization event is about, settled if still open. A failure here is not the
 * processor's to retry: the events are stored, and the sweeper settles the attempt from them.
 */
async function settleAuthorizations(deps: NotificationRouteDeps, merchant_id: string, events: readonly ProcessorEvent[]): Promise<void> {
  for (const reference of authorizationReferences(events)) {
    try {
      const attempt_id = (await attemptOfReference(deps.pool, merchant_id, reference)) ?? reference;
      await withMerchant(merchant_id, () => deps.settle(merchant_id, attempt_id));
    } catch (error) {
      deps.logger.warn({ err: error, merchant_id, reference }, 'a notified attempt is left to the sweeper');
    }
  }
}

async function merchantOf(pool: Pool, account_id: string): Promise<string | null> {
  const found = await run<{ merchant_id: string }>(pool, sql`SELECT merchant_id FROM connectors.connector_accounts WHERE id = ${account_id}`);
  return found.rows[0]?.merchant_id ?? null;
}

/** The router may have sent a per-try id (`ch_…_2`): its try row names the attempt. */
async function attemptOfReference(pool: Pool, merchant_id: string, reference: string): Promise<string | null> {
  const found = await run<{ attempt_id: string }>(
    pool,
    sql`SELECT attempt_id FROM connectors.routed_tries WHERE reference = ${reference} AND merchant_id = ${merchant_id}`,
  );
  return found.rows[0]?.attempt_id ?? null;
}

function isVerifier(connector: BuiltConnector): connector is BuiltConnector & NotificationVerifier {
  return typeof (connector as Partial<NotificationVerifier>).verifyNotification === 'function';
}

function isRecorder(connector: BuiltConnector): connector is BuiltConnector & Recorder {
  return typeof (connector as Partial<Recorder>).recordEvents === 'function';
}

function refuse(reply: FastifyReply, status: number, message: string): FastifyReply {
  return reply.status(status).type('text/plain; charset=utf-8').send(message);
}
