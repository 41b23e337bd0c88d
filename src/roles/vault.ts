import { poolLimits } from '../platform/config.js';
import { readMtlsCredentials } from '../platform/http/mtls.js';
import type { VaultServer } from '../services/vault/index.js';
import { startVaultProcess } from '../services/vault/index.js';
import { keySettings } from '../payment-services.js';
import type { Core } from './core.js';

/**
 * The `vault` role: the only process that opens the KMS, holds the vault keys and reads sealed cards
 * (as the vault database role). It serves the key port over mutual TLS on PORT; API processes started
 * with PAYRAIL_VAULT_URL call it and hold no vault key (docs/security.md).
 */
export async function startVaultRole(core: Core): Promise<VaultServer> {
  const { config, database, clock, logger } = core;
  if (!config.vault_tls) throw new Error('the vault role serves mutual TLS: set PAYRAIL_VAULT_TLS_CA, PAYRAIL_VAULT_TLS_CERT and PAYRAIL_VAULT_TLS_KEY');
  return startVaultProcess({
    key_settings: keySettings(config),
    vault_database_url: database.urls.vault,
    pool_limits: poolLimits(config),
    tls: readMtlsCredentials(config.vault_tls),
    callers: config.vault_callers,
    host: config.host,
    port: config.port,
    logger,
    now_ms: () => clock.now_ms(),
  });
}
