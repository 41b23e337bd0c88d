import { resolve } from 'node:path';
import type { PoolLimits } from './db.js';
import { DEFAULT_POOL_LIMITS } from './db.js';
import { DEFAULT_HEAP_GROWTH_PERCENT, HEAP_GROWTH_PERCENT_MAX } from './heap-growth.js';

/** Every setting comes from the environment; the README lists them. */
export interface Config {
  port: number;
  host: string;
  database_url: string | undefined;
  /**
   * The pools' own connections, one per role of rls.ts (production: each with its own password).
   * Unset, they are DATABASE_URL's server and database with the role's name as user.
   */
  role_database_urls: { app?: string | undefined; vault?: string | undefined; system?: string | undefined };
  /**
   * PAYRAIL_MIGRATE (`on`, the default, or `off`): off, the process migrates nothing and never logs in as
   * the owner — it connects with its role's URLs only and refuses to start while migrations are pending
   * (`payrail migrate` applies them; docs/deployment.md, "Database logins").
   */
  migrate: boolean;
  data_dir: string;
  bootstrap_secret_key: string | undefined;
  vault_key_hex: string | undefined;
  /** PAYRAIL_SECRETS_DIR: development secrets (the vault key file); unset, a per-data-dir folder under ~/.config/payrail. */
  secrets_dir: string | undefined;
  /** PAYRAIL_KMS: `development` (a key file or PAYRAIL_VAULT_KEY) or `vault-transit` (HashiCorp Vault). */
  kms: 'development' | 'vault-transit';
  /** VAULT_ADDR, VAULT_TOKEN and the Transit mount and key-name prefix, for PAYRAIL_KMS=vault-transit. */
  vault_transit: { address: string; token: string; mount: string; key_prefix: string } | undefined;
  /** PAYRAIL_MODE: `live` refuses development keys (docs/security.md); live too when the bootstrap key is `sk_live_`. */
  mode: 'test' | 'live';
  embedded_pg_port: number;
  db_pool_max: number;
  /** Database limits (see PoolLimits in db.ts): how long a lost or frozen database can hold a request. */
  db_statement_timeout_ms: number;
  db_connect_timeout_ms: number;
  db_idle_in_transaction_timeout_ms: number;
  sandbox_latency_ms: number;
  /** PAYRAIL_SANDBOX_FAULTS as given (parsed by the connectors service): faults injected into the built-in sandbox. */
  sandbox_faults: string | undefined;
  body_limit_bytes: number;
  rate_limit_per_s: number;
  rate_limit_burst: number;
  /** Failed authentications a client address may make per window before it gets 429s until the window ends. */
  auth_failure_limit: number;
  auth_failure_window_s: number;
  /** Redis shares the rate limits and failed-authentication counts across processes; unset, each process keeps its own. */
  redis_url: string | undefined;
  redis_prefix: string;
  /** The oldest exchange rate a conversion may use, in seconds (docs/currencies.md#staleness); default 5 days. */
  fx_rate_max_age_s: number;
  /** An ECB reference-rates file (URL or path) loaded at start-up and hourly; unset, rates are loaded with `payrail fx load`. */
  fx_rates_url: string | undefined;
  /** What one client may hold of the API server (slow bodies, idle sockets, socket count). */
  http_request_timeout_ms: number;
  http_keep_alive_timeout_ms: number;
  http_max_connections: number;
  /** How far old space may grow past the last full collection's live heap, in percent; 0: V8's own. */
  heap_growth_percent: number;
  /** Addresses or CIDRs of proxies whose X-Forwarded-For names the client; unset, the peer is the client. */
  trust_proxy: string[] | undefined;
  /** `/metrics` on its own listener (host and port; port 0 picks one), or on the API port behind a bearer token when a token is set. */
  metrics_host: string;
  metrics_port: number;
  metrics_token: string | undefined;
  log_level: string;
  public_url: string | undefined;
  /** PAYRAIL_WEBHOOKS_ALLOW_PRIVATE=1: webhooks may go to loopback and private addresses (development only). */
  webhooks_allow_private: boolean;
  /** PAYRAIL_TLS_CERT and PAYRAIL_TLS_KEY (PEM files): the API is served over HTTPS, with HSTS. */
  tls: { cert_file: string; key_file: string } | undefined;
  /** Bearer token of the admin API (`/admin/v1/…`); no admin API without it. */
  admin_token: string | undefined;
  /** PAYRAIL_VAULT_URL: the vault process (https); set, this process holds no vault key and asks it instead. */
  vault_url: string | undefined;
  /** PAYRAIL_VAULT_TLS_CA, _CERT, _KEY: mutual TLS between the vault and its callers (deploy/local/ca.sh). */
  vault_tls: { ca_file: string; cert_file: string; key_file: string } | undefined;
  /** PAYRAIL_VAULT_CALLERS (comma-separated certificate names, e.g. `api,scheduler`): who the vault process answers; unset, any certificate from the CA. */
  vault_callers: string[] | undefined;
  /** PAYRAIL_RISK_URL: the risk process (https); set, this process's confirms are scored there, over the PAYRAIL_VAULT_TLS_* certificates. */
  risk_url: string | undefined;
  /** PAYRAIL_RISK_TIMEOUT_MS: how long a confirm waits for the risk process's score before the payment goes to review (500). */
  risk_timeout_ms: number;
  /** PAYRAIL_RISK_CALLERS (comma-separated certificate names): who the risk process answers; unset, any certificate from the CA. */
  risk_callers: string[] | undefined;
  /** PAYRAIL_HEALTH_PORT: where the vault role, whose PORT speaks mutual TLS, answers /healthz and /readyz (default PORT + 1). */
  health_port: number;
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  return {
    port: intSetting(env, 'PORT', 4242),
    host: env.HOST ?? '127.0.0.1',
    database_url: env.DATABASE_URL || undefined,
    role_database_urls: {
      app: env.PAYRAIL_APP_DATABASE_URL || undefined,
      vault: env.PAYRAIL_VAULT_DATABASE_URL || undefined,
      system: env.PAYRAIL_SYSTEM_DATABASE_URL || undefined,
    },
    migrate: choiceSetting(env, 'PAYRAIL_MIGRATE', ['on', 'off'], 'on') === 'on',
    data_dir: resolve(env.PAYRAIL_DATA_DIR ?? '.payrail'),
    bootstrap_secret_key: env.PAYRAIL_BOOTSTRAP_SECRET_KEY || undefined,
    vault_key_hex: env.PAYRAIL_VAULT_KEY || undefined,
    vault_url: env.PAYRAIL_VAULT_URL || undefined,
    vault_tls: vaultTls(env),
    vault_callers: env.PAYRAIL_VAULT_CALLERS
      ? env.PAYRAIL_VAULT_CALLERS.split(',')
          .map((name) => name.trim())
          .filter(Boolean)
      : undefined,
    risk_url: env.PAYRAIL_RISK_URL || undefined,
    risk_timeout_ms: intSetting(env, 'PAYRAIL_RISK_TIMEOUT_MS', 500),
    risk_callers: env.PAYRAIL_RISK_CALLERS
      ? env.PAYRAIL_RISK_CALLERS.split(',')
          .map((name) => name.trim())
          .filter(Boolean)
      : undefined,
    health_port: healthPort(env),
    secrets_dir: env.PAYRAIL_SECRETS_DIR || undefined,
    kms: choiceSetting(env, 'PAYRAIL_KMS', ['development', 'vault-transit'], 'development'),
    vault_transit: vaultTransit(env),
    mode: choiceSetting(env, 'PAYRAIL_MODE', ['test', 'live'], env.PAYRAIL_BOOTSTRAP_SECRET_KEY?.startsWith('sk_live_') ? 'live' : 'test'),
    embedded_pg_port: intSetting(env, 'PAYRAIL_EMBEDDED_PG_PORT', 54329),
    db_pool_max: intSetting(env, 'PAYRAIL_DB_POOL_MAX', 20),
    db_statement_timeout_ms: positiveIntSetting(env, 'PAYRAIL_DB_STATEMENT_TIMEOUT_MS', DEFAULT_POOL_LIMITS.statement_timeout_ms),
    db_connect_timeout_ms: positiveIntSetting(env, 'PAYRAIL_DB_CONNECT_TIMEOUT_MS', DEFAULT_POOL_LIMITS.connect_timeout_ms),
    db_idle_in_transaction_timeout_ms: positiveIntSetting(env, 'PAYRAIL_DB_IDLE_IN_TRANSACTION_TIMEOUT_MS', DEFAULT_POOL_LIMITS.idle_in_transaction_timeout_ms),
    sandbox_latency_ms: intSetting(env, 'PAYRAIL_SANDBOX_LATENCY_MS', 0),
    sandbox_faults: env.PAYRAIL_SANDBOX_FAULTS || undefined,
    body_limit_bytes: intSetting(env, 'PAYRAIL_BODY_LIMIT_BYTES', 256 * 1024),
    rate_limit_per_s: intSetting(env, 'PAYRAIL_RATE_LIMIT_PER_S', 5_000),
    rate_limit_burst: intSetting(env, 'PAYRAIL_RATE_LIMIT_BURST', 10_000),
    auth_failure_limit: positiveIntSetting(env, 'PAYRAIL_AUTH_FAILURE_LIMIT', 20),
    auth_failure_window_s: positiveIntSetting(env, 'PAYRAIL_AUTH_FAILURE_WINDOW_S', 60),
    redis_url: env.REDIS_URL || undefined,
    redis_prefix: env.PAYRAIL_REDIS_PREFIX || 'payrail:',
    fx_rate_max_age_s: positiveIntSetting(env, 'PAYRAIL_FX_RATE_MAX_AGE_S', 5 * 86_400),
    fx_rates_url: env.PAYRAIL_FX_RATES_URL || undefined,
    http_request_timeout_ms: positiveIntSetting(env, 'PAYRAIL_HTTP_REQUEST_TIMEOUT_MS', 10_000),
    http_keep_alive_timeout_ms: positiveIntSetting(env, 'PAYRAIL_HTTP_KEEP_ALIVE_TIMEOUT_MS', 5_000),
    http_max_connections: positiveIntSetting(env, 'PAYRAIL_HTTP_MAX_CONNECTIONS', 1_000),
    heap_growth_percent: heapGrowthPercent(env),
    trust_proxy: env.PAYRAIL_TRUST_PROXY ? env.PAYRAIL_TRUST_PROXY.split(',').map((entry) => entry.trim()) : undefined,
    metrics_host: env.PAYRAIL_METRICS_HOST || '127.0.0.1',
    metrics_port: intSetting(env, 'PAYRAIL_METRICS_PORT', 9464),
    metrics_token: metricsToken(env),
    log_level: env.LOG_LEVEL ?? 'info',
    public_url: env.PAYRAIL_PUBLIC_URL || undefined,
    webhooks_allow_private: flagSetting(env, 'PAYRAIL_WEBHOOKS_ALLOW_PRIVATE'),
    tls: tlsFiles(env),
    admin_token: adminToken(env),
  };
}

const ADMIN_TOKEN_MIN_LENGTH = 32;

function adminToken(env: NodeJS.ProcessEnv): string | undefined {
  const token = env.PAYRAIL_ADMIN_TOKEN;
  if (token === undefined || token === '') return undefined;
  if (token.length < ADMIN_TOKEN_MIN_LENGTH || new Set(token).size < 10) {
    throw new Error(`Setting PAYRAIL_ADMIN_TOKEN must be at least ${ADMIN_TOKEN_MIN_LENGTH} random characters (e.g. openssl rand -hex 32)`);
  }
  return token;
}

const METRICS_TOKEN_MIN_LENGTH = 32;

/** A scrape token short enough to guess would make /metrics public again. */
function metricsToken(env: NodeJS.ProcessEnv): string | undefined {
  const token = env.PAYRAIL_METRICS_TOKEN;
  if (token === undefined || token === '') return undefined;
  if (token.length < METRICS_TOKEN_MIN_LENGTH)
    throw new Error(`Setting PAYRAIL_METRICS_TOKEN must be at least ${METRICS_TOKEN_MIN_LENGTH} characters (e.g. openssl rand -hex 32)`);
  return token;
}

function heapGrowthPercent(env: NodeJS.ProcessEnv): number {
  const percent = intSetting(env, 'PAYRAIL_HEAP_GROWTH_PERCENT', DEFAULT_HEAP_GROWTH_PERCENT);
  if (percent > HEAP_GROWTH_PERCENT_MAX) throw new Error(`Setting PAYRAIL_HEAP_GROWTH_PERCENT must be at most ${HEAP_GROWTH_PERCENT_MAX}, got "${percent}"`);
  return percent;
}

function choiceSetting<T extends string>(env: NodeJS.ProcessEnv, name: string, choices: readonly T[], fallback: T): T {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  if (!(choices as readonly string[]).includes(raw)) throw new Error(`Setting ${name} must be one of ${choices.join(', ')}, got "${raw}"`);
  return raw as T;
}

/**
 * All three files or none: this process's certificate for every internal service over mutual TLS (the
 * vault, risk), so PAYRAIL_VAULT_URL and PAYRAIL_RISK_URL need them (one CA signs every service's).
 */
function vaultTls(env: NodeJS.ProcessEnv): Config['vault_tls'] {
  const [ca_file, cert_file, key_file] = [env.PAYRAIL_VAULT_TLS_CA, env.PAYRAIL_VAULT_TLS_CERT, env.PAYRAIL_VAULT_TLS_KEY];
  if (!ca_file && !cert_file && !key_file && !env.PAYRAIL_VAULT_URL && !env.PAYRAIL_RISK_URL) return undefined;
  if (!ca_file || !cert_file || !key_file)
    throw new Error(
      'PAYRAIL_VAULT_URL, PAYRAIL_RISK_URL and the vault and risk processes need PAYRAIL_VAULT_TLS_CA, PAYRAIL_VAULT_TLS_CERT and PAYRAIL_VAULT_TLS_KEY',
    );
  return { ca_file: resolve(ca_file), cert_file: resolve(cert_file), key_file: resolve(key_file) };
}

/** Only with PAYRAIL_KMS=vault-transit, which then needs both VAULT_ADDR and VAULT_TOKEN. */
function vaultTransit(env: NodeJS.ProcessEnv): Config['vault_transit'] {
  if (env.PAYRAIL_KMS !== 'vault-transit') return undefined;
  if (!env.VAULT_ADDR || !env.VAULT_TOKEN) throw new Error('Setting PAYRAIL_KMS=vault-transit needs VAULT_ADDR and VAULT_TOKEN');
  return {
    address: env.VAULT_ADDR,
    token: env.VAULT_TOKEN,
    mount: env.PAYRAIL_VAULT_TRANSIT_MOUNT || 'transit',
    key_prefix: env.PAYRAIL_VAULT_TRANSIT_KEY_PREFIX || 'payrail-',
  };
}

/** `1` on, `0` or unset off; anything else is refused rather than guessed. */
function flagSetting(env: NodeJS.ProcessEnv, name: string): boolean {
  const raw = env[name];
  if (raw === undefined || raw === '' || raw === '0') return false;
  if (raw === '1') return true;
  throw new Error(`Setting ${name} must be 0 or 1, got "${raw}"`);
}

/** Both files or neither: a certificate without its key (or the reverse) is a mistake, not plain HTTP. */
function tlsFiles(env: NodeJS.ProcessEnv): Config['tls'] {
  const cert_file = env.PAYRAIL_TLS_CERT || undefined;
  const key_file = env.PAYRAIL_TLS_KEY || undefined;
  if (cert_file === undefined && key_file === undefined) return undefined;
  if (cert_file === undefined || key_file === undefined) throw new Error('Settings PAYRAIL_TLS_CERT and PAYRAIL_TLS_KEY go together: set both, or neither');
  return { cert_file: resolve(cert_file), key_file: resolve(key_file) };
}

/** The port after PORT unless set (PORT=0, any free port, makes it any free port too). */
function healthPort(env: NodeJS.ProcessEnv): number {
  const port = intSetting(env, 'PORT', 4242);
  return intSetting(env, 'PAYRAIL_HEALTH_PORT', port === 0 ? 0 : port + 1);
}

function intSetting(env: NodeJS.ProcessEnv, name: string, fallback: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new Error(`Setting ${name} must be a non-negative integer, got "${raw}"`);
  }
  return value;
}

/** Zero would switch a timeout off, which is exactly what these settings exist to prevent. */
function positiveIntSetting(env: NodeJS.ProcessEnv, name: string, fallback: number): number {
  const value = intSetting(env, name, fallback);
  if (value === 0) throw new Error(`Setting ${name} must be a positive integer`);
  return value;
}

export function poolLimits(config: Config): PoolLimits {
  return {
    statement_timeout_ms: config.db_statement_timeout_ms,
    connect_timeout_ms: config.db_connect_timeout_ms,
    idle_in_transaction_timeout_ms: config.db_idle_in_transaction_timeout_ms,
  };
}
