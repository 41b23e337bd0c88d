import { loadConfig } from '../platform/config.js';
import type { Database } from '../platform/database.js';
import { openDatabase } from '../platform/database.js';
import type { Migration } from '../platform/migrations.js';
import { prepareSchedulerSchema } from '../platform/scheduler-schema.js';
import { systemClock, unixSeconds } from '../kernel/clock.js';
import { UlidGenerator } from '../kernel/ids.js';
import { createMerchant, loadKeyHasher } from '../services/merchants/index.js';
import { ledgerVerifyCommand } from '../services/ledger/index.js';
import { ledgerRecords } from '../services/payments/index.js';
import { disputeLedgerRecords } from '../services/disputes/index.js';
import { ADMIN_LIST_LIMIT_MAX, AdminError, failedDeliveries, eventAttempts, formatAttempts, formatDeliveries, resendEvent } from '../services/events/index.js';
import { ALL_MIGRATIONS } from '../migrations.js';
import type { Command } from './command-line.js';
import { EXIT_OK, EXIT_PROBLEM, UsageError, command } from './command-line.js';
import { runRefundCommand } from './refund.js';
import { apiKeyCommands } from './api-keys.js';
import { auditCommands } from './audit.js';
import { dashboardCommands } from './dashboard.js';
import { keyCommands } from './keys.js';
import { radarCommands } from './radar.js';
import { connectorCommands } from './connectors.js';
import { settlementCommands } from './settle.js';
import { reconcileCommands } from './reconcile.js';
import { simulatorCommands } from './simulator.js';
import { fxCommands } from './fx.js';
import { ROLE_NAMES, isRoleName } from '../roles/names.js';

/** The command table of `payrail`: each command opens the same database the server uses. */

/** Connections a command needs: one for its work, one spare for a migration lock. */
const CLI_POOL_MAX = 2;
const FAILED_DELIVERIES_DEFAULT_LIMIT = 50;

/** Opens the database the server uses; migrated first unless the command is the migration itself. */
async function withDatabase<T>(work: (database: Database) => Promise<T>, migrations: readonly Migration[] = ALL_MIGRATIONS): Promise<T> {
  const database = await openDatabase(loadConfig(), migrations, CLI_POOL_MAX);
  try {
    return await work(database);
  } finally {
    await database.close();
  }
}

/** Operator errors of `payrail events …` (no such event, disabled endpoint) are plain lines, exit 1. */
async function reportingAdminErrors(work: () => Promise<number>): Promise<number> {
  try {
    return await work();
  } catch (error) {
    if (!(error instanceof AdminError)) throw error;
    process.stderr.write(`${error.message}\n`);
    return EXIT_PROBLEM;
  }
}

function listLimit(text: string | undefined): number {
  const limit = Number(text ?? FAILED_DELIVERIES_DEFAULT_LIMIT);
  if (!Number.isInteger(limit) || limit < 1 || limit > ADMIN_LIST_LIMIT_MAX) throw new UsageError(`--limit must be 1 to ${ADMIN_LIST_LIMIT_MAX}`);
  return limit;
}

export const COMMANDS: readonly Command[] = [
  command({
    words: ['start'],
    args: [],
    options: {
      service: { type: 'string', value: 'NAME', description: `run one role: ${ROLE_NAMES.join(', ')} (default all; same as PAYRAIL_SERVICE)` },
    },
    summary: 'start the platform (same as npm start), or one of its roles',
    async run({ service }) {
      if (service !== undefined) {
        if (!isRoleName(service)) throw new UsageError(`--service must be one of ${ROLE_NAMES.join(', ')}`);
        process.env.PAYRAIL_SERVICE = service;
      }
      await import('../main.js');
      return null;
    },
  }),
  command({
    words: ['migrate'],
    args: [],
    options: {},
    summary: "apply pending database migrations and prepare the scheduler's schema",
    run: () =>
      withDatabase(async (database) => {
        const applied = await database.migrate(ALL_MIGRATIONS);
        // So a scheduler started without the owner's login (PAYRAIL_MIGRATE=off) finds pg-boss ready.
        if (database.owner_url) await prepareSchedulerSchema(database.owner_url);
        process.stdout.write(applied.length ? `Applied: ${applied.join(', ')}\n` : 'Database is up to date.\n');
        return EXIT_OK;
      }, []),
  }),
  command({
    words: ['merchants', 'create'],
    args: [],
    options: { name: { type: 'string', value: 'N', description: "the merchant's name" } },
    summary: 'create a merchant and print its API keys',
    run: ({ name }) =>
      withDatabase(async (database) => {
        const store = { pool: database.pool, hasher: loadKeyHasher(process.env, loadConfig().data_dir), ids: new UlidGenerator() };
        const keys = await createMerchant(store, unixSeconds(systemClock), { name });
        process.stdout.write(`merchant_id=${keys.merchant_id}\nsecret_key=${keys.secret_key}\npublishable_key=${keys.publishable_key}\n`);
        return EXIT_OK;
      }),
  }),
  command({
    words: ['refunds', 'create'],
    args: [],
    options: {
      merchant: { type: 'string', value: 'ACCT', description: 'the merchant whose charge to refund (required)' },
      charge: { type: 'string', value: 'CH', description: 'the charge to refund' },
      'payment-intent': { type: 'string', value: 'PI', description: 'or the PaymentIntent whose charge to refund' },
      amount: { type: 'string', value: 'N', description: 'minor units to refund (default: what is left)' },
      reason: { type: 'string', value: 'R', description: 'duplicate, fraudulent or requested_by_customer' },
      'idempotency-key': { type: 'string', value: 'K', description: 'run at most once per key, exactly as POST /v1/refunds with this Idempotency-Key' },
    },
    summary: 'refund a charge, through the same write path and idempotency rules as the API',
    run: (values) => {
      if (!values.merchant) throw new UsageError('--merchant is required');
      const merchant_id = values.merchant;
      const params = Object.fromEntries(
        Object.entries({ charge: values.charge, payment_intent: values['payment-intent'], amount: values.amount, reason: values.reason }).filter(
          (entry): entry is [string, string] => entry[1] !== undefined,
        ),
      );
      return withDatabase((database) => runRefundCommand(database, merchant_id, params, values['idempotency-key']));
    },
  }),
  command({
    words: ['ledger', 'verify'],
    args: [],
    options: {},
    summary: 'recompute ledger balances and reconcile them with payments (exit 1 names what is wrong)',
    run: () => withDatabase((database) => ledgerVerifyCommand(database.pool, unixSeconds(systemClock), ledgerRecords, process.stdout, disputeLedgerRecords)),
  }),
  command({
    words: ['events', 'resend'],
    args: ['EVENT_ID'],
    options: { endpoint: { type: 'string', value: 'ID', description: 'send to this enabled endpoint only' } },
    summary: 'send a webhook event again: to one endpoint, or to every enabled endpoint that wants it',
    run: ({ endpoint }, [event_id = '']) =>
      withDatabase((database) =>
        reportingAdminErrors(async () => {
          const result = await resendEvent(database.pool, event_id, endpoint, systemClock.now_ms());
          process.stdout.write(
            result.endpoints.length === 0
              ? `No enabled endpoint of ${result.merchant_id} wants ${result.event_type}; nothing queued.\n`
              : `Queued ${event_id} (${result.event_type}) for ${result.endpoints.join(', ')}.\n`,
          );
          return result.endpoints.length === 0 ? EXIT_PROBLEM : EXIT_OK;
        }),
      ),
  }),
  command({
    words: ['events', 'failed'],
    args: [],
    options: {
      limit: {
        type: 'string',
        value: 'N',
        description: `list at most N deliveries, 1 to ${ADMIN_LIST_LIMIT_MAX} (default ${FAILED_DELIVERIES_DEFAULT_LIMIT})`,
      },
      retrying: { type: 'boolean', description: 'also list deliveries still failing and being retried' },
    },
    summary: 'webhook deliveries that gave up (with --retrying, also those still failing)',
    run: ({ limit, retrying }) => {
      const options = { limit: listLimit(limit), retrying: retrying ?? false };
      return withDatabase(async (database) => {
        process.stdout.write(formatDeliveries(await failedDeliveries(database.pool, options)));
        return EXIT_OK;
      });
    },
  }),
  command({
    words: ['events', 'attempts'],
    args: ['EVENT_ID'],
    options: {},
    summary: 'every webhook delivery attempt of an event (status, latency, response excerpt)',
    run: (_values, [event_id = '']) =>
      withDatabase(async (database) => {
        process.stdout.write(formatAttempts(await eventAttempts(database.pool, event_id)));
        return EXIT_OK;
      }),
  }),
  ...apiKeyCommands(withDatabase),
  ...auditCommands(withDatabase),
  ...dashboardCommands(withDatabase),
  ...keyCommands(withDatabase),
  ...radarCommands(withDatabase),
  ...connectorCommands(withDatabase),
  ...settlementCommands(withDatabase),
  ...reconcileCommands(withDatabase),
  ...simulatorCommands(),
  ...fxCommands(withDatabase),
];
