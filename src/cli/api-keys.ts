import { loadConfig } from '../platform/config.js';
import type { Database } from '../platform/database.js';
import { systemClock, unixSeconds } from '../kernel/clock.js';
import { UlidGenerator } from '../kernel/ids.js';
import type { Access, ApiKeyKind, ApiKeyRecord, KeyStore, Permissions } from '../services/merchants/index.js';
import {
  KeyAdminError,
  RESOURCES,
  createApiKey,
  isResource,
  keyStatus,
  listApiKeys,
  loadKeyHasher,
  revokeApiKey,
  rollApiKey,
} from '../services/merchants/index.js';
import type { Actor } from '../services/audit/index.js';
import type { Command } from './command-line.js';
import { EXIT_OK, EXIT_PROBLEM, UsageError, command } from './command-line.js';

/** `payrail api-keys create|roll|revoke|list`: a merchant's API keys, from the operator's shell. */

/** Longest roll overlap, as Stripe allows: the old key may work for up to 7 days. */
const MAX_EXPIRES_IN_S = 7 * 24 * 3600;
const DURATION = /^(\d+)([smhd])$/;
const UNIT_S: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86_400 };
const OPERATOR: Actor = { type: 'cli' };

type WithDatabase = <T>(work: (database: Database) => Promise<T>) => Promise<T>;

function keyStore(database: Database): KeyStore {
  return { pool: database.pool, hasher: loadKeyHasher(process.env, loadConfig().data_dir), ids: new UlidGenerator() };
}

/** `payment_intents=write,charges=read` → permissions; a wrong entry is a usage error. */
export function parsePermissions(text: string): Permissions {
  const permissions: Record<string, Access> = {};
  for (const entry of text.split(',').filter((part) => part.trim() !== '')) {
    const [resource = '', access = ''] = entry.trim().split('=', 2);
    if (!isResource(resource)) throw new UsageError(`unknown resource '${resource}' (one of ${RESOURCES.join(', ')})`);
    if (access !== 'read' && access !== 'write') throw new UsageError(`'${resource}' needs =read or =write`);
    permissions[resource] = access;
  }
  return permissions;
}

function parseExpiresIn(text: string | undefined): number {
  if (text === undefined || text === 'now') return 0;
  const match = DURATION.exec(text);
  const seconds = match ? Number(match[1]) * (UNIT_S[match[2] ?? 's'] ?? 1) : Number.NaN;
  if (!(seconds >= 0 && seconds <= MAX_EXPIRES_IN_S)) throw new UsageError('--expires-in is now or a duration up to 7d, such as 30m, 12h or 3d');
  return seconds;
}

function describe(key: ApiKeyRecord, now_s: number): string {
  const permissions = key.permissions
    ? ` ${
        Object.entries(key.permissions)
          .map(([resource, access]) => `${resource}=${access}`)
          .join(',') || '(none)'
      }`
    : '';
  const expiry = key.expires_at !== null && key.revoked_at === null ? ` until ${new Date(key.expires_at * 1000).toISOString()}` : '';
  return `${key.id}  ${key.redacted.padEnd(16)}  ${key.kind.padEnd(11)}  ${keyStatus(key, now_s)}${expiry}${permissions}${key.name ? `  "${key.name}"` : ''}`;
}

async function reportingKeyErrors(work: () => Promise<number>): Promise<number> {
  try {
    return await work();
  } catch (error) {
    if (!(error instanceof KeyAdminError)) throw error;
    process.stderr.write(`${error.message}\n`);
    return EXIT_PROBLEM;
  }
}

export function apiKeyCommands(withDatabase: WithDatabase): Command[] {
  return [
    command({
      words: ['api-keys', 'create'],
      args: [],
      options: {
        merchant: { type: 'string', value: 'ACCT', description: 'the merchant the key is for (required)' },
        type: { type: 'string', value: 'T', description: 'secret, restricted or publishable (default secret)' },
        permissions: { type: 'string', value: 'P', description: 'restricted keys: resource=read|write, comma-separated (payment_intents=write,charges=read)' },
        name: { type: 'string', value: 'N', description: 'a name to recognise the key by' },
        live: { type: 'boolean', description: 'a live-mode key (sk_live_…) instead of test mode' },
      },
      summary: 'create an API key and print it (the only time it is shown)',
      run: (values) => {
        if (!values.merchant) throw new UsageError('--merchant is required');
        const kind = (values.type ?? 'secret') as ApiKeyKind;
        if (!['secret', 'restricted', 'publishable'].includes(kind)) throw new UsageError('--type is secret, restricted or publishable');
        if (values.permissions !== undefined && kind !== 'restricted') throw new UsageError('--permissions is for --type restricted');
        const permissions = kind === 'restricted' ? parsePermissions(values.permissions ?? '') : undefined;
        const merchant_id = values.merchant;
        return withDatabase((database) =>
          reportingKeyErrors(async () => {
            const spec = { kind, livemode: values.live ?? false, name: values.name ?? null, ...(permissions ? { permissions } : {}) };
            const now_s = unixSeconds(systemClock);
            const created = await createApiKey(keyStore(database), merchant_id, spec, { now_s, actor: OPERATOR });
            process.stdout.write(`${describe(created.record, now_s)}\n${created.key}\nStore it now: it cannot be shown again.\n`);
            return EXIT_OK;
          }),
        );
      },
    }),
    command({
      words: ['api-keys', 'roll'],
      args: ['KEY_ID'],
      options: { 'expires-in': { type: 'string', value: 'D', description: 'how long the old key keeps working: now (default) or up to 7d (30m, 12h, 3d)' } },
      summary: 'replace a key with a new one; the old one stops after --expires-in',
      run: (values, [key_id = '']) => {
        const expires_in = parseExpiresIn(values['expires-in']);
        return withDatabase((database) =>
          reportingKeyErrors(async () => {
            const now_s = unixSeconds(systemClock);
            const rolled = await rollApiKey(keyStore(database), key_id, { now_s, actor: OPERATOR, expires_at: now_s + expires_in });
            process.stdout.write(
              `${describe(rolled.rolled, now_s)}\n${describe(rolled.record, now_s)}\n${rolled.key}\nStore it now: it cannot be shown again.\n`,
            );
            return EXIT_OK;
          }),
        );
      },
    }),
    command({
      words: ['api-keys', 'revoke'],
      args: ['KEY_ID'],
      options: {},
      summary: 'stop a key at once, in every running process',
      run: (_values, [key_id = '']) =>
        withDatabase((database) =>
          reportingKeyErrors(async () => {
            const now_s = unixSeconds(systemClock);
            process.stdout.write(`${describe(await revokeApiKey(keyStore(database), key_id, { now_s, actor: OPERATOR }), now_s)}\n`);
            return EXIT_OK;
          }),
        ),
    }),
    command({
      words: ['api-keys', 'list'],
      args: [],
      options: { merchant: { type: 'string', value: 'ACCT', description: "only this merchant's keys (default: every merchant's)" } },
      summary: 'API keys with their ids and status, redacted to their last four characters',
      run: (values) => {
        const merchant_id = values.merchant ?? null;
        return withDatabase(async (database) => {
          const now_s = unixSeconds(systemClock);
          const keys = await listApiKeys(database.pool, merchant_id);
          process.stdout.write(keys.length === 0 ? 'No API keys.\n' : `${keys.map((key) => `${key.merchant_id}  ${describe(key, now_s)}`).join('\n')}\n`);
          return keys.length === 0 ? EXIT_PROBLEM : EXIT_OK;
        });
      },
    }),
  ];
}
