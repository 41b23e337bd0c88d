import type { PoolLimits } from '../../../platform/db.js';
import { createPool } from '../../../platform/db.js';
import type { MtlsCredentials } from '../../../platform/http/mtls.js';
import type { Logger } from '../../../platform/logger.js';
import type { KeySettings } from '../app/keys.js';
import { openKms } from '../app/keys.js';
import { loadVaultKeyring } from '../app/keyring.js';
import { localVaultKeys } from '../app/local-keys.js';
import type { VaultServer } from './remote-server.js';
import { startVaultServer } from './remote-server.js';

/**
 * The vault role's process (`payrail start --service vault`): the only process that opens the KMS,
 * holds the keyring and reads sealed cards (through the vault database role). API processes reach it
 * with remoteVaultBinding.
 */
export interface VaultProcessSettings {
  key_settings: KeySettings;
  /** The vault database role's connection (PAYRAIL_VAULT_DATABASE_URL or its default). */
  vault_database_url: string;
  pool_limits: PoolLimits;
  tls: MtlsCredentials;
  host: string;
  port: number;
  logger: Logger;
  now_ms: () => number;
  /** The certificate names allowed to call (PAYRAIL_VAULT_CALLERS); unset, any from the CA. */
  callers?: readonly string[] | undefined;
}

const SEALED_READER_POOL_MAX = 8;

export async function startVaultProcess(settings: VaultProcessSettings): Promise<VaultServer> {
  const { logger } = settings;
  const kms = await openKms(settings.key_settings, (message, fields) => logger.info(fields, message));
  const setup = createPool(settings.vault_database_url, 1, settings.pool_limits);
  const keyring = await loadVaultKeyring(setup, kms, settings.now_ms()).finally(() => setup.end());
  // Scoped to the merchant each call names, as the request path's reads are.
  const reader = createPool(settings.vault_database_url, SEALED_READER_POOL_MAX, settings.pool_limits, { read_only: true, merchant_scoped: true });
  await reader.query('SELECT 1');
  const server = await startVaultServer({
    keys: localVaultKeys(keyring, reader),
    tls: settings.tls,
    logger,
    host: settings.host,
    port: settings.port,
    ...(settings.callers ? { callers: settings.callers } : {}),
  });
  logger.info({ url: server.url }, 'vault listening (mutual TLS)');
  return {
    url: server.url,
    close: async () => {
      await server.close();
      await reader.end();
    },
  };
}
