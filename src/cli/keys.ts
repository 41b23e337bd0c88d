import { loadConfig } from '../platform/config.js';
import type { Database } from '../platform/database.js';
import type { Pool } from '../platform/db.js';
import { createPool } from '../platform/db.js';
import { systemClock } from '../kernel/clock.js';
import type { KeyEvent, KeyPurpose, RewrapTarget, VaultKeyring } from '../services/vault/index.js';
import {
  KEY_PURPOSES,
  KmsError,
  RotationBusyError,
  Vault,
  isKeyPurpose,
  keyUse,
  lastRotations,
  loadVaultKeyring,
  openKms,
  rotateKeys,
  sealedColumnTarget,
  vaultRewrapTargets,
} from '../services/vault/index.js';
import { webhookSecretBox, webhookSecretColumn } from '../services/events/index.js';
import { connectorCredentialsColumn } from '../services/connectors/index.js';
import { recordSecurityEvent } from '../services/audit/index.js';
import { idempotencyHashKey, keySettings } from '../payment-services.js';
import type { Command } from './command-line.js';
import { EXIT_OK, EXIT_PROBLEM, UsageError, command } from './command-line.js';

/** `payrail keys status|rotate`: the KMS's key versions, and rotating them with every stored data key rewrapped. */

type WithDatabase = <T>(work: (database: Database) => Promise<T>) => Promise<T>;

const BATCH_SIZE_DEFAULT = 200;
const BATCH_SIZE_MAX = 1_000;
/** Longer than a request holds a data key it wrapped before storing it (statement and connect timeouts, with margin). */
const SETTLE_SECONDS_DEFAULT = 15;
const PAUSE_MS_MAX = 60_000;
/** Connections of the vault role: one for the rotation lock, one for its work. */
const VAULT_POOL_MAX = 2;
const STATUS_PAGE_SIZE = 1_000;

interface KeyContext {
  keyring: VaultKeyring;
  targets: RewrapTarget[];
  vault_pool: Pool;
}

/** The keyring and every place data keys are stored, on the server's database; KMS failures are one line, exit 1. */
async function withKeys(database: Database, work: (context: KeyContext) => Promise<number>): Promise<number> {
  const config = loadConfig();
  const vault_pool = createPool(database.urls.vault, VAULT_POOL_MAX);
  try {
    const kms = await openKms(keySettings(config), (message, fields) => process.stderr.write(`${message}: ${Object.values(fields).join(' → ')}\n`));
    const keyring = await loadVaultKeyring(vault_pool, kms, systemClock.now_ms());
    const box_before_kms = webhookSecretBox(idempotencyHashKey(keyring.fingerprint_key));
    const webhook_secrets = sealedColumnTarget(
      'webhook_secrets',
      webhookSecretColumn(database.pool),
      new Vault(keyring).sealer('webhook_secrets'),
      async (sealed, context) => (await box_before_kms.open(sealed, context)).reveal(),
    );
    // Connector credentials were sealed through the KMS from the start: nothing to open from before it.
    const connector_credentials = sealedColumnTarget(
      'connector_credentials',
      connectorCredentialsColumn(database.pool),
      new Vault(keyring).sealer('connector_credentials'),
      () => Promise.reject(new KmsError('connector credentials are never sealed before the KMS')),
    );
    return await work({ keyring, targets: [...vaultRewrapTargets(vault_pool, keyring), webhook_secrets, connector_credentials], vault_pool });
  } catch (error) {
    if (!(error instanceof KmsError || error instanceof RotationBusyError)) throw error;
    process.stderr.write(`${error.message}\n`);
    return EXIT_PROBLEM;
  } finally {
    await vault_pool.end();
  }
}

function boundedInteger(name: string, text: string | undefined, fallback: number, min: number, max: number): number {
  if (text === undefined) return fallback;
  const value = Number(text);
  if (!Number.isInteger(value) || value < min || value > max) throw new UsageError(`--${name} must be ${min} to ${max}`);
  return value;
}

function purposesOf(text: string | undefined): KeyPurpose[] {
  if (text === undefined) return [...KEY_PURPOSES];
  if (!isKeyPurpose(text)) throw new UsageError(`--purpose must be one of ${KEY_PURPOSES.join(', ')}`);
  return [text];
}

async function printStatus(context: KeyContext): Promise<number> {
  const { kms } = context.keyring.envelopes;
  const rotations = new Map((await lastRotations(context.vault_pool)).map((row) => [row.purpose, row]));
  const uses = await keyUse(context.targets, STATUS_PAGE_SIZE);
  const lines = [`KMS: ${kms.kind}`];
  for (const purpose of KEY_PURPOSES) {
    const status = await kms.status(purpose);
    const rotation = rotations.get(purpose);
    const last = rotation ? `; last rotation to v${rotation.to_version}: ${rotation.state}, ${rotation.rewrapped} rewrapped` : '';
    lines.push(`${purpose}: key ${status.key_name}, latest v${status.latest_version}, decrypts from v${status.min_decryption_version}${last}`);
    for (const [index, target] of context.targets.entries()) {
      if (target.purpose !== purpose) continue;
      const counts = Object.entries(uses[index]?.counts ?? {}).map(([label, count]) => `${label} ${count}`);
      lines.push(`  ${target.name}: ${counts.length > 0 ? counts.join(', ') : 'none stored'}`);
    }
  }
  process.stdout.write(`${lines.join('\n')}\n`);
  return EXIT_OK;
}

export function keyCommands(withDatabase: WithDatabase): Command[] {
  return [
    command({
      words: ['keys', 'status'],
      args: [],
      options: {},
      summary: "the KMS, each purpose's key versions, and the stored data keys under each version",
      run: () => withDatabase((database) => withKeys(database, printStatus)),
    }),
    command({
      words: ['keys', 'rotate'],
      args: [],
      options: {
        purpose: { type: 'string', value: 'P', description: `rotate one purpose's key: ${KEY_PURPOSES.join(', ')} (default: all)` },
        'batch-size': { type: 'string', value: 'N', description: `data keys rewrapped per batch, 1 to ${BATCH_SIZE_MAX} (default ${BATCH_SIZE_DEFAULT})` },
        'pause-ms': { type: 'string', value: 'MS', description: 'wait between batches, to spare a busy database (default 0)' },
        'settle-seconds': {
          type: 'string',
          value: 'S',
          description: `retire old versions no sooner than this after rotating (default ${SETTLE_SECONDS_DEFAULT})`,
        },
      },
      summary: 'rotate key-encryption keys and rewrap every stored data key, online; run it again to resume after a crash',
      run: (values) => {
        const options = {
          purposes: purposesOf(values.purpose),
          batch_size: boundedInteger('batch-size', values['batch-size'], BATCH_SIZE_DEFAULT, 1, BATCH_SIZE_MAX),
          pause_ms: boundedInteger('pause-ms', values['pause-ms'], 0, 0, PAUSE_MS_MAX),
          settle_ms: boundedInteger('settle-seconds', values['settle-seconds'], SETTLE_SECONDS_DEFAULT, 0, 3_600) * 1000,
          now_ms: () => systemClock.now_ms(),
          report: (line: string) => process.stderr.write(`${line}\n`),
        };
        return withDatabase((database) =>
          withKeys(database, async (context) => {
            const audit = (event: KeyEvent) =>
              recordSecurityEvent(database.pool, {
                type: event.type,
                merchant_id: null,
                object_id: event.purpose,
                actor: { type: 'cli' },
                at_ms: systemClock.now_ms(),
                data: { version: event.version, ...(event.rewrapped === undefined ? {} : { rewrapped: event.rewrapped }) },
              });
            const results = await rotateKeys(context.vault_pool, context.keyring.envelopes.kms, context.targets, { ...options, audit });
            for (const result of results) process.stdout.write(`${result.purpose}: now v${result.to_version}, ${result.rewrapped} data keys rewrapped\n`);
            return EXIT_OK;
          }),
        );
      },
    }),
  ];
}
