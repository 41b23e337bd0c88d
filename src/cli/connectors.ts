import { readFileSync } from 'node:fs';
import { systemClock } from '../kernel/clock.js';
import { PayrailError } from '../kernel/errors.js';
import { UlidGenerator } from '../kernel/ids.js';
import type { Config } from '../platform/config.js';
import { loadConfig } from '../platform/config.js';
import type { Database } from '../platform/database.js';
import { createPool } from '../platform/db.js';
import type { Actor } from '../services/audit/index.js';
import type { ConnectorAccountView, ConnectorsAdmin } from '../services/connectors/index.js';
import { connectorsAdmin } from '../services/connectors/index.js';
import { merchantExists } from '../services/merchants/index.js';
import type { SecretSealer } from '../services/vault/index.js';
import { Vault, loadVaultKeyring, openKms } from '../services/vault/index.js';
import { keySettings } from '../payment-services.js';
import type { Command } from './command-line.js';
import { EXIT_OK, EXIT_PROBLEM, UsageError, command } from './command-line.js';

/**
 * `payrail connectors add|list|update|remove` and `payrail routing show|set|evaluate`: a merchant's
 * connector accounts and routing rules from the operator's shell, through the admin API's use cases.
 * Credentials are read from a file or standard input, never from the command line (where shell
 * history and `ps` would keep them), and never printed back: only the masked hint.
 */

type WithDatabase = <T>(work: (database: Database) => Promise<T>) => Promise<T>;

const OPERATOR: Actor = { type: 'cli' };
const MERCHANT_ID = /^acct_\w{1,64}$/;
/** Connections of the vault role: only to load the keyring. */
const VAULT_POOL_MAX = 1;

const merchantOption = { merchant: { type: 'string', value: 'ACCT', description: 'the merchant whose connectors these are (required)' } } as const;
const credentialsOptions = {
  'credentials-file': { type: 'string', value: 'FILE', description: "the credentials as JSON, read from FILE ('-' for standard input)" },
} as const;

function merchantOf(values: { merchant?: string | undefined }): string {
  if (!values.merchant) throw new UsageError('--merchant is required');
  if (!MERCHANT_ID.test(values.merchant)) throw new UsageError('--merchant is acct_ followed by letters and digits');
  return values.merchant;
}

function readJson(file: string, what: string): unknown {
  const text = readFileSync(file === '-' ? 0 : file, 'utf8');
  try {
    return JSON.parse(text) as unknown;
  } catch {
    // The text may be credentials: the message never quotes it.
    throw new UsageError(`${what} is not valid JSON`);
  }
}

function describeAccount(account: ConnectorAccountView): string {
  const hint = Object.entries(account.credentials)
    .map(([field, value]) => `${field}=${value}`)
    .join(' ');
  return `${account.id}  ${account.type.padEnd(7)}  ${account.status.padEnd(8)}  ${account.label}${hint ? `  ${hint}` : ''}`;
}

/** The vault's sealer for connector credentials, from the same KMS the server uses. */
async function withSealer<T>(config: Config, database: Database, work: (sealer: SecretSealer) => Promise<T>): Promise<T> {
  const vault_pool = createPool(database.urls.vault, VAULT_POOL_MAX);
  try {
    const kms = await openKms(keySettings(config), (message, fields) => process.stderr.write(`${message}: ${Object.values(fields).join(' → ')}\n`));
    const keyring = await loadVaultKeyring(vault_pool, kms, systemClock.now_ms());
    return await work(new Vault(keyring).sealer('connector_credentials'));
  } finally {
    await vault_pool.end();
  }
}

/** `config`: where the KMS is (the server's settings; tests hand their platform's). */
export function connectorCommands(withDatabase: WithDatabase, config: () => Config = loadConfig): Command[] {
  /** Runs `work` once the merchant is known to exist; a refusal is one plain line, exit 1. */
  const forMerchant = (merchant_id: string, work: (database: Database) => Promise<string>) =>
    withDatabase(async (database) => {
      try {
        if (!(await merchantExists(database.pool, merchant_id))) throw new PayrailError('resource_missing', { message: `No such merchant: '${merchant_id}'` });
        process.stdout.write(`${await work(database)}\n`);
        return EXIT_OK;
      } catch (error) {
        if (!(error instanceof PayrailError)) throw error;
        process.stderr.write(`${error.param ? `${error.param}: ` : ''}${error.message}\n`);
        return EXIT_PROBLEM;
      }
    });
  const admin = (database: Database, sealer?: SecretSealer): ConnectorsAdmin =>
    connectorsAdmin({ pool: database.pool, ids: new UlidGenerator(), sealer, change: () => ({ now_ms: systemClock.now_ms(), actor: OPERATOR }) });
  const json = (value: unknown) => JSON.stringify(value, null, 2);
  return [
    command({
      words: ['connectors', 'list'],
      args: [],
      options: merchantOption,
      summary: "a merchant's connector accounts: id, type, status, label, masked credentials",
      run: (values) => {
        const merchant_id = merchantOf(values);
        return forMerchant(
          merchant_id,
          async (database) => (await admin(database).list(merchant_id)).map(describeAccount).join('\n') || '(no connector accounts)',
        );
      },
    }),
    command({
      words: ['connectors', 'add'],
      args: ['TYPE', 'LABEL'],
      options: { ...merchantOption, ...credentialsOptions, disabled: { type: 'boolean', description: 'add it disabled: routed to only once enabled' } },
      summary: 'add a connector account (TYPE sandbox, stripe or adyen) with its credentials',
      run: (values, [type = '', label = '']) => {
        const merchant_id = merchantOf(values);
        const credentials = values['credentials-file'] ? readJson(values['credentials-file'], 'the credentials file') : {};
        return forMerchant(merchant_id, (database) =>
          withSealer(config(), database, async (sealer) =>
            describeAccount(await admin(database, sealer).create(merchant_id, { type, label, credentials, status: values.disabled ? 'disabled' : 'enabled' })),
          ),
        );
      },
    }),
    command({
      words: ['connectors', 'update'],
      args: ['ACCOUNT_ID'],
      options: {
        ...merchantOption,
        ...credentialsOptions,
        label: { type: 'string', value: 'LABEL', description: 'a new label' },
        enable: { type: 'boolean', description: 'route to it again' },
        disable: { type: 'boolean', description: 'stop routing new payments to it (its payments are still captured and refunded)' },
      },
      summary: "change a connector account's label or status, or rotate its credentials (replaced whole)",
      run: (values, [account_id = '']) => {
        const merchant_id = merchantOf(values);
        if (values.enable && values.disable) throw new UsageError('--enable and --disable cannot be used together');
        const input: Record<string, unknown> = {};
        if (values.label !== undefined) input['label'] = values.label;
        if (values.enable || values.disable) input['status'] = values.enable ? 'enabled' : 'disabled';
        if (values['credentials-file']) input['credentials'] = readJson(values['credentials-file'], 'the credentials file');
        if (Object.keys(input).length === 0) throw new UsageError('nothing to change: give --label, --enable, --disable or --credentials-file');
        return forMerchant(merchant_id, (database) =>
          withSealer(config(), database, async (sealer) => describeAccount(await admin(database, sealer).update(merchant_id, account_id, input))),
        );
      },
    }),
    command({
      words: ['connectors', 'remove'],
      args: ['ACCOUNT_ID'],
      options: merchantOption,
      summary: 'delete a connector account the routing rules no longer name',
      run: (values, [account_id = '']) => {
        const merchant_id = merchantOf(values);
        return forMerchant(merchant_id, async (database) => `${(await admin(database).remove(merchant_id, account_id)).id}  deleted`);
      },
    }),
    command({
      words: ['routing', 'show'],
      args: [],
      options: merchantOption,
      summary: "a merchant's routing rules in force, as JSON",
      run: (values) => {
        const merchant_id = merchantOf(values);
        return forMerchant(merchant_id, async (database) => json(await admin(database).routing(merchant_id)));
      },
    }),
    command({
      words: ['routing', 'set'],
      args: ['FILE'],
      options: { ...merchantOption, 'expected-version': { type: 'string', value: 'N', description: 'refuse unless the rules in force are version N' } },
      summary: "replace a merchant's routing rules with FILE's JSON ('-' for standard input; `null` removes them)",
      run: (values, [file = '']) => {
        const merchant_id = merchantOf(values);
        const body = readJson(file, 'the routing file');
        const expected = values['expected-version'];
        if (expected !== undefined && !/^\d{1,9}$/.test(expected)) throw new UsageError('--expected-version is a whole number');
        return forMerchant(merchant_id, async (database) =>
          json(await admin(database).setRouting(merchant_id, body, expected === undefined ? undefined : Number(expected))),
        );
      },
    }),
    command({
      words: ['routing', 'evaluate'],
      args: [],
      options: {
        ...merchantOption,
        amount: { type: 'string', value: 'N', description: 'amount in minor units (required)' },
        currency: { type: 'string', value: 'CUR', description: 'ISO 4217 currency (required)' },
        brand: { type: 'string', value: 'BRAND', description: 'card brand: visa, mastercard, amex, …' },
        country: { type: 'string', value: 'CC', description: "the card issuer's country" },
        bin: { type: 'string', value: 'DIGITS', description: "the card number's first 6 digits" },
        metadata: { type: 'string', value: 'JSON', description: 'the payment\'s metadata as a JSON object: \'{"tier":"gold"}\'' },
        attempt: { type: 'string', value: 'ID', description: 'the attempt id a split is decided by (default: a new one)' },
      },
      summary: 'which connector account a described payment would take, and why (a dry run)',
      run: (values) => {
        const merchant_id = merchantOf(values);
        const card = { brand: values.brand, country: values.country, bin: values.bin };
        let metadata: unknown;
        try {
          metadata = values.metadata === undefined ? undefined : JSON.parse(values.metadata);
        } catch {
          throw new UsageError('--metadata is a JSON object');
        }
        const body = { amount: values.amount, currency: values.currency, card, metadata, attempt_id: values.attempt };
        return forMerchant(merchant_id, async (database) => json(await admin(database).evaluate(merchant_id, body)));
      },
    }),
  ];
}
