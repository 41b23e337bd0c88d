import { parseArgs } from 'node:util';
import { loadConfig } from './platform/config.js';
import type { Database } from './platform/database.js';
import { openDatabase } from './platform/database.js';
import { ALL_MIGRATIONS } from './migrations.js';
import type { Migration } from './platform/migrations.js';
import { migrate } from './platform/migrations.js';
import { systemClock, unixSeconds } from './kernel/clock.js';
import { UlidGenerator } from './kernel/ids.js';
import { createMerchant } from './services/merchants/index.js';
import { ledgerVerifyCommand } from './services/ledger/index.js';
import { REFUND_COMMAND, ledgerRecords } from './services/payments/index.js';
import { openPaymentServices } from './compose.js';
import { createLogger } from './platform/logger.js';
import { errorBody, toPayrailError } from './platform/http/errors.js';
import { parseParams } from './platform/http/params.js';
import { execute } from './platform/write/pipeline.js';
import {
  ADMIN_LIST_LIMIT_MAX,
  AdminError,
  failedDeliveries,
  eventAttempts,
  formatAttempts,
  formatDeliveries,
  resendEvent,
} from './services/events/index.js';

/**
 * `payrail <command>`: a thin composition root; each command opens the same database the server uses.
 * Exit codes: 0 done, 1 the command ran and found a problem, 2 the command line is wrong.
 */

const EXIT_OK = 0;
const EXIT_PROBLEM = 1;
const EXIT_USAGE = 2;
/** Connections a command needs: one for its work, one spare for a migration lock. */
const CLI_POOL_MAX = 2;
const FAILED_DELIVERIES_DEFAULT_LIMIT = 50;
/** Where a command's summary starts in the usage list. */
const USAGE_SUMMARY_COLUMN = 30;

interface OptionSpec {
  type: 'string' | 'boolean';
  /** The value's name in help, for string options (`--limit N`). */
  value?: string;
  description: string;
}

type OptionValue<T extends OptionSpec['type']> = T extends 'boolean' ? boolean : string;
type OptionValues<O extends Record<string, OptionSpec>> = { [K in keyof O]?: OptionValue<O[K]['type']> };

interface Command<O extends Record<string, OptionSpec> = Record<string, OptionSpec>> {
  /** The words after `payrail`: `['events', 'resend']`. */
  words: readonly string[];
  /** Required positional arguments, by their names in help. */
  args: readonly string[];
  options: O;
  summary: string;
  /** Resolves to the exit code, or to null when the process keeps running (the server). */
  run(values: OptionValues<O>, args: readonly string[]): Promise<number | null>;
}

/** A command line that cannot run: printed plainly with a pointer to --help, exit code 2. */
class UsageError extends Error {
  override name = 'UsageError';
}

/** Keeps each command's option types attached to its `run`. */
function command<const O extends Record<string, OptionSpec>>(spec: Command<O>): Command {
  return spec;
}

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

/**
 * POST /v1/refunds from the command line: the same schema, the same write pipeline and, with a key,
 * the same idempotency record as the API (a key used here replays there, and the other way round).
 * Prints the refund, or Stripe's error object on stderr with exit code 1.
 */
async function runRefundCommand(database: Database, merchant_id: string, params: Record<string, string>, key: string | undefined): Promise<number> {
  const config = loadConfig();
  const clock = systemClock;
  const logger = createLogger(config.log_level, process.stderr);
  const services = await openPaymentServices(config, database, { clock, ids: new UlidGenerator(clock), logger, public_url: () => config.public_url ?? '' });
  try {
    const request = { merchant_id, request_id: null, idempotency: key === undefined ? undefined : { key, method: REFUND_COMMAND.method, path: REFUND_COMMAND.path, params } };
    const result = await execute(services.write, request, { reserves: REFUND_COMMAND.reserves, run: (ctx, p) => REFUND_COMMAND.run(services.payments, ctx, p) }, parseParams(REFUND_COMMAND.schema, params));
    if (result.replayed) process.stderr.write(`Idempotency-Key ${key ?? ''} was used before: this is the stored answer.\n`);
    const body = `${JSON.stringify(JSON.parse(result.response.body), null, 2)}\n`;
    if (result.response.status === 200) process.stdout.write(body);
    else process.stderr.write(body);
    return result.response.status === 200 ? EXIT_OK : EXIT_PROBLEM;
  } catch (error) {
    const known = toPayrailError(error);
    if (!known) throw error;
    process.stderr.write(`${JSON.stringify(errorBody(known), null, 2)}\n`);
    return EXIT_PROBLEM;
  } finally {
    await services.close();
  }
}

function listLimit(text: string | undefined): number {
  const limit = Number(text ?? FAILED_DELIVERIES_DEFAULT_LIMIT);
  if (!Number.isInteger(limit) || limit < 1 || limit > ADMIN_LIST_LIMIT_MAX) throw new UsageError(`--limit must be 1 to ${ADMIN_LIST_LIMIT_MAX}`);
  return limit;
}

const COMMANDS: readonly Command[] = [
  command({
    words: ['start'],
    args: [],
    options: {},
    summary: 'start the platform (same as npm start)',
    async run() {
      await import('./main.js');
      return null;
    },
  }),
  command({
    words: ['migrate'],
    args: [],
    options: {},
    summary: 'apply pending database migrations',
    run: () =>
      withDatabase(async (database) => {
        const applied = await migrate(database.pool, ALL_MIGRATIONS);
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
        const keys = await createMerchant(database.pool, new UlidGenerator(), unixSeconds(systemClock), { name });
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
        Object.entries({ charge: values.charge, payment_intent: values['payment-intent'], amount: values.amount, reason: values.reason }).filter((entry): entry is [string, string] => entry[1] !== undefined),
      );
      return withDatabase((database) => runRefundCommand(database, merchant_id, params, values['idempotency-key']));
    },
  }),
  command({
    words: ['ledger', 'verify'],
    args: [],
    options: {},
    summary: 'recompute ledger balances and reconcile them with payments (exit 1 names what is wrong)',
    run: () => withDatabase((database) => ledgerVerifyCommand(database.pool, unixSeconds(systemClock), ledgerRecords, process.stdout)),
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
];

function synopsis(spec: Command): string {
  const options = Object.entries(spec.options).map(([name, option]) => (option.value ? `[--${name} ${option.value}]` : `[--${name}]`));
  return [...spec.words, ...spec.args, ...options].join(' ');
}

/** The usage of `commands`; `group` (`events`) when they are one group's commands. */
function usageList(commands: readonly Command[], group?: string): string {
  const lines = commands.map((spec) => {
    const left = `  ${synopsis(spec)}`;
    return left.length < USAGE_SUMMARY_COLUMN
      ? `${left.padEnd(USAGE_SUMMARY_COLUMN)}${spec.summary}`
      : `${left}\n${' '.repeat(USAGE_SUMMARY_COLUMN)}${spec.summary}`;
  });
  return `Usage: payrail ${group ? `${group} ` : ''}<command> [--help]\n\n${lines.join('\n')}\n`;
}

function commandHelp(spec: Command): string {
  const options = [
    ...Object.entries(spec.options).map(([name, option]) => [`--${name}${option.value ? ` ${option.value}` : ''}`, option.description]),
    ['-h, --help', 'show this help'],
  ];
  const width = Math.max(...options.map(([flag = '']) => flag.length));
  const rows = options.map(([flag = '', description]) => `  ${flag.padEnd(width)}  ${description}`);
  return `Usage: payrail ${synopsis(spec)}\n\n${spec.summary}\n\nOptions:\n${rows.join('\n')}\n`;
}

/** Node's parseArgs messages end in advice for its own API; the first sentence is what the operator needs. */
function firstSentence(message: string): string {
  return message.split('. ')[0] ?? message;
}

function parseCommandLine(spec: Command, argv: readonly string[]): { help: boolean; values: Record<string, string | boolean | undefined>; args: string[] } {
  const options = Object.fromEntries(Object.entries(spec.options).map(([name, option]) => [name, { type: option.type }]));
  let parsed;
  try {
    parsed = parseArgs({
      args: [...argv],
      options: { ...options, help: { type: 'boolean', short: 'h' } },
      allowPositionals: true,
      strict: true,
    });
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    if (typeof code === 'string' && code.startsWith('ERR_PARSE_ARGS_')) throw new UsageError(firstSentence((error as Error).message));
    throw error;
  }
  const { help = false, ...values } = parsed.values;
  if (help) return { help: true, values, args: parsed.positionals };
  const missing = spec.args.slice(parsed.positionals.length);
  if (missing.length > 0) throw new UsageError(`missing ${missing.join(' ')}`);
  const extra = parsed.positionals.slice(spec.args.length);
  if (extra.length > 0) throw new UsageError(`unexpected argument '${extra[0]}'`);
  return { help: false, values, args: parsed.positionals };
}

function findCommand(argv: readonly string[]): Command | undefined {
  return COMMANDS.find((spec) => spec.words.every((word, i) => argv[i] === word));
}

async function main(argv: readonly string[]): Promise<number | null> {
  const [first, second] = argv;
  if (first === undefined || first === 'help' || first === '--help' || first === '-h') {
    process.stdout.write(usageList(COMMANDS));
    return EXIT_OK;
  }
  const spec = findCommand(argv);
  if (!spec) {
    const group = COMMANDS.filter((candidate) => candidate.words.length > 1 && candidate.words[0] === first);
    if (group.length === 0) {
      process.stderr.write(`payrail: unknown command '${first}'\n\n${usageList(COMMANDS)}`);
      return EXIT_USAGE;
    }
    if (second === '--help' || second === '-h') {
      process.stdout.write(usageList(group, first));
      return EXIT_OK;
    }
    const problem = second === undefined ? 'missing command' : `unknown command '${second}'`;
    process.stderr.write(`payrail ${first}: ${problem}\n\n${usageList(group, first)}`);
    return EXIT_USAGE;
  }
  const name = spec.words.join(' ');
  try {
    const input = parseCommandLine(spec, argv.slice(spec.words.length));
    if (input.help) {
      process.stdout.write(commandHelp(spec));
      return EXIT_OK;
    }
    return await spec.run(input.values, input.args);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    process.stderr.write(`payrail ${name}: ${error.message}\nUsage: payrail ${synopsis(spec)}\nRun 'payrail ${name} --help' for details.\n`);
    return EXIT_USAGE;
  }
}

const code = await main(process.argv.slice(2));
if (code !== null) process.exit(code);
