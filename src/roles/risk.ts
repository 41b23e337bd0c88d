import { readMtlsCredentials } from '../platform/http/mtls.js';
import type { MtlsService } from '../platform/http/mtls-service.js';
import { openRiskScorer, startRiskServer } from '../services/risk/index.js';
import type { Core } from './core.js';

/**
 * The `risk` role: the scorer (the model and the velocity windows in Redis) served over mutual TLS on
 * PORT, for API processes started with PAYRAIL_RISK_URL. Radar rules stay in the API, which reads
 * each merchant's rules from the database; this process reads no table (its /readyz asks the system
 * login whether the schema is current, as every role's does).
 */
export async function startRiskRole(core: Core): Promise<MtlsService> {
  const { config, clock, logger } = core;
  if (!config.vault_tls) throw new Error('the risk role serves mutual TLS: set PAYRAIL_VAULT_TLS_CA, PAYRAIL_VAULT_TLS_CERT and PAYRAIL_VAULT_TLS_KEY');
  // Without Redis the windows would count only what this process saw: correct, but one replica's view.
  if (!config.redis_url) logger.warn('risk role without REDIS_URL: velocity windows live in this process only');
  const scorer = await openRiskScorer({
    redis_url: config.redis_url,
    redis_prefix: config.redis_prefix,
    clock,
    on_store_error: (error) => logger.warn({ err: error }, 'risk velocity store unavailable; this process’s own windows answer'),
  });
  try {
    const server = await startRiskServer({
      scorer,
      tls: readMtlsCredentials(config.vault_tls),
      callers: config.risk_callers,
      host: config.host,
      port: config.port,
      logger,
    });
    return {
      url: server.url,
      close: async () => {
        await server.close();
        await scorer.close();
      },
    };
  } catch (error) {
    await scorer.close();
    throw error;
  }
}
