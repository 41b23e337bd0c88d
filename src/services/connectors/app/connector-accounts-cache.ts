import type { Clock } from '../../../kernel/clock.js';
import { listenForChanges } from '../../../platform/change-listener.js';
import type { Pool } from '../../../platform/db.js';
import type { Logger } from '../../../platform/logger.js';
import { withMerchant } from '../../../platform/merchant-scope.js';
import type { CredentialSealer } from './connector-factory.js';
import { sealedCredentials } from '../adapters/accounts-store.js';
import type { RoutingConfig } from '../domain/routing.js';
import { SANDBOX_ACCOUNT_ID } from '../domain/routing.js';
import type { Connector } from '../domain/port.js';
import { ROUTING_CHANGES_CHANNEL } from '../migrations/accounts.js';
import { sealContext } from './connector-accounts.js';
import type { BuiltConnector } from './registry.js';
import { connectorFactory } from './registry.js';
import { readRoutingConfig } from './routing-admin.js';

/**
 * What the router reads on every payment: a merchant's routing config (rules in force and accounts)
 * and the opened connector of an account, both kept in process. Each change to a merchant's accounts
 * or rules is announced by the database at its commit (ROUTING_CHANGES_CHANNEL) and every listening
 * process drops that merchant's copies; a TTL bounds staleness if a notification is lost. Credentials
 * are opened only here, only to build a connector, and never kept outside it.
 */

export interface ConnectorAccountsDeps {
  /** The system role's pool: connectors that keep their own records (the sandbox, Adyen) get it too. */
  pool: Pool;
  sealer: CredentialSealer;
  clock: Clock;
  logger: Logger;
  /** The shared in-process sandbox: the built-in `sandbox` account and every account of type sandbox. */
  sandbox: Connector;
  fetch_timeout_ms: number;
  /** Where to LISTEN for changes; without it, entries live only `ttl_ms`. */
  database_url?: string | undefined;
  /** How long a copy is trusted (default 30 s with a listener, 1 s without). */
  ttl_ms?: number | undefined;
}

export interface ConnectorAccounts {
  routing(merchant_id: string): Promise<RoutingConfig>;
  /**
   * The connector of one of the merchant's accounts, whatever its status: a disabled or deleted
   * account's payments are still captured, refunded and inquired through it. `sandbox` is the built-in one.
   */
  connector(merchant_id: string, account_id: string): Promise<BuiltConnector>;
  forget(merchant_id: string): void;
  /** Resolves once the change listener is listening (at once without one). */
  listening(): Promise<void>;
  close(): Promise<void>;
}

/** Merchants (and opened connectors) one process keeps at once; the least recently loaded go first. */
export const ACCOUNTS_CACHE_MAX_ENTRIES = 1_000;

interface Cached<T> {
  merchant_id: string;
  value: Promise<T>;
  loaded_ms: number;
  generation: number;
}

export function openConnectorAccounts(deps: ConnectorAccountsDeps): ConnectorAccounts {
  const ttl_ms = deps.ttl_ms ?? (deps.database_url ? 30_000 : 1_000);
  const configs = new Map<string, Cached<RoutingConfig>>();
  const connectors = new Map<string, Cached<BuiltConnector>>();
  // Bumped by every forget: a load that started before it is not cached.
  let generation = 0;
  const forget = (merchant_id: string) => {
    generation++;
    configs.delete(merchant_id);
    for (const [key, entry] of connectors) if (entry.merchant_id === merchant_id) connectors.delete(key);
  };
  const forgetAll = () => {
    generation++;
    configs.clear();
    connectors.clear();
  };
  const listener = deps.database_url ? listenForChanges(deps.database_url, ROUTING_CHANGES_CHANNEL, { forget, forgetAll }, deps.logger) : undefined;

  const cached = <T>(cache: Map<string, Cached<T>>, key: string, merchant_id: string, load: () => Promise<T>): Promise<T> => {
    const now_ms = deps.clock.now_ms();
    const entry = cache.get(key);
    if (entry && now_ms - entry.loaded_ms < ttl_ms) return entry.value;
    const started = generation;
    const value = withMerchant(merchant_id, load);
    cache.delete(key);
    if (cache.size >= ACCOUNTS_CACHE_MAX_ENTRIES) cache.delete(cache.keys().next().value ?? '');
    const fresh = { merchant_id, value, loaded_ms: now_ms, generation: started };
    cache.set(key, fresh);
    // A failed load, or one a change overtook, is not kept.
    value.then(
      () => {
        if (generation !== started && cache.get(key) === fresh) cache.delete(key);
      },
      () => {
        if (cache.get(key) === fresh) cache.delete(key);
      },
    );
    return value;
  };

  return {
    routing: (merchant_id) => cached(configs, merchant_id, merchant_id, () => readRoutingConfig(deps.pool, merchant_id)),
    connector: (merchant_id, account_id) => {
      if (account_id === SANDBOX_ACCOUNT_ID) return Promise.resolve(deps.sandbox);
      return cached(connectors, `${merchant_id}/${account_id}`, merchant_id, () => openConnector(deps, merchant_id, account_id));
    },
    forget,
    listening: () => listener?.ready ?? Promise.resolve(),
    close: async () => {
      await listener?.stop();
    },
  };
}

/** Opens the account's credentials and builds its connector through the registry. */
async function openConnector(deps: ConnectorAccountsDeps, merchant_id: string, account_id: string): Promise<BuiltConnector> {
  const found = await sealedCredentials(deps.pool, merchant_id, account_id);
  if (!found) throw new Error(`no connector account ${account_id} for merchant ${merchant_id}`);
  const factory = connectorFactory(found.account.type);
  if (!factory) throw new Error(`connector account ${account_id} is of type ${found.account.type}, which this build does not have`);
  const credentials: unknown = JSON.parse(await deps.sealer.open(found.sealed, sealContext(merchant_id, account_id)));
  return factory.create(credentials, {
    clock: deps.clock,
    logger: deps.logger,
    sandbox: deps.sandbox,
    fetch_timeout_ms: deps.fetch_timeout_ms,
    pool: deps.pool,
    account: { id: account_id, merchant_id },
  });
}
