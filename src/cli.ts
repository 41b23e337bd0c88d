import { loadConfig } from './platform/config.js';
import { openDatabase } from './platform/database.js';
import { ALL_MIGRATIONS } from './platform/all-migrations.js';
import { migrate } from './platform/migrations.js';
import { systemClock, unixSeconds } from './kernel/clock.js';
import { UlidGenerator } from './kernel/ids.js';
import { createMerchant } from './services/merchants/merchants.js';
import { ledgerVerifyCommand } from './services/ledger/app/verify.js';
import { AdminError, failedDeliveries, eventAttempts, formatAttempts, formatDeliveries, resendEvent } from './services/events/webhooks/admin.js';

const USAGE = `Usage: payrail <command>

  start                       start the platform (same as npm start)
  migrate                     apply pending database migrations
  merchants create [--name N] create a merchant and print its API keys
  ledger verify               recompute ledger balances and reconcile them with payments (exit 1 names what is wrong)
  events resend EVENT_ID [--endpoint ID]
                              send a webhook event again: to one endpoint, or to every enabled endpoint that wants it
  events failed [--limit N] [--retrying]
                              webhook deliveries that gave up (with --retrying, also those still failing)
  events attempts EVENT_ID    every webhook delivery attempt of an event (status, latency, response excerpt)
`;

/** Thin composition root: each command opens the same database the server uses. */
async function main(argv: string[]): Promise<number> {
  const [command, sub, ...rest] = argv;
  const config = loadConfig();
  if (command === 'start') {
    await import('./main.js');
    return -1;
  }
  if (command === 'migrate') {
    const database = await openDatabase(config, 2);
    try {
      const applied = await migrate(database.pool, ALL_MIGRATIONS);
      process.stdout.write(applied.length ? `Applied: ${applied.join(', ')}\n` : 'Database is up to date.\n');
    } finally {
      await database.close();
    }
    return 0;
  }
  if (command === 'merchants' && sub === 'create') {
    const name_index = rest.indexOf('--name');
    const name = name_index >= 0 ? rest[name_index + 1] : undefined;
    const database = await openDatabase(config, 2);
    try {
      const keys = await createMerchant(database.pool, new UlidGenerator(), unixSeconds(systemClock), { name });
      process.stdout.write(`merchant_id=${keys.merchant_id}\nsecret_key=${keys.secret_key}\npublishable_key=${keys.publishable_key}\n`);
    } finally {
      await database.close();
    }
    return 0;
  }
  if (command === 'ledger' && sub === 'verify') {
    const database = await openDatabase(config, 2);
    try {
      return await ledgerVerifyCommand(database.pool, unixSeconds(systemClock), process.stdout);
    } finally {
      await database.close();
    }
  }
  if (command === 'events' && (sub === 'resend' || sub === 'failed' || sub === 'attempts')) {
    return eventsCommand(config, sub, rest);
  }
  process.stderr.write(USAGE);
  return command === undefined || command === 'help' || command === '--help' ? 0 : 2;
}

/** `payrail events …`: webhook deliveries, against the same database the servers use. */
async function eventsCommand(config: ReturnType<typeof loadConfig>, sub: string, args: string[]): Promise<number> {
  const options = new Map<string, string>();
  const flags = new Set<string>();
  const positionals: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i] ?? '';
    if (arg === '--endpoint' || arg === '--limit') options.set(arg, args[++i] ?? '');
    else if (arg.startsWith('--')) flags.add(arg);
    else positionals.push(arg);
  }
  const option = (name: string) => options.get(name);
  const positional = positionals[0];
  const database = await openDatabase(config, 2);
  try {
    if (sub === 'resend') {
      if (!positional) throw new AdminError('Usage: payrail events resend EVENT_ID [--endpoint ID]');
      const result = await resendEvent(database.pool, positional, option('--endpoint'), systemClock.now_ms());
      process.stdout.write(result.endpoints.length === 0
        ? `No enabled endpoint of ${result.merchant_id} wants ${result.event_type}; nothing queued.\n`
        : `Queued ${positional} (${result.event_type}) for ${result.endpoints.join(', ')}.\n`);
      return result.endpoints.length === 0 ? 1 : 0;
    }
    if (sub === 'failed') {
      const limit = Number(option('--limit') ?? 50);
      if (!Number.isInteger(limit) || limit < 1 || limit > 1_000) throw new AdminError('--limit must be 1 to 1000');
      process.stdout.write(formatDeliveries(await failedDeliveries(database.pool, { limit, retrying: flags.has('--retrying') })));
      return 0;
    }
    if (!positional) throw new AdminError('Usage: payrail events attempts EVENT_ID');
    process.stdout.write(formatAttempts(await eventAttempts(database.pool, positional)));
    return 0;
  } catch (error) {
    if (!(error instanceof AdminError)) throw error;
    process.stderr.write(`${error.message}\n`);
    return 1;
  } finally {
    await database.close();
  }
}

const code = await main(process.argv.slice(2));
if (code >= 0) process.exit(code);
