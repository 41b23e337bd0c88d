import type { Pool } from '../../../platform/db.js';
import { connectedAccountOf } from './connected-accounts.js';

const MAX_CACHED_PAIRS = 10_000;
/**
 * How long a process trusts what it read about a (platform, account) pair. A deletion in this process
 * is forgotten at once (`forget`); other processes stop honouring a deleted account within this time.
 */
export const ACCOUNT_ACCESS_TTL_MS = 5_000;

interface Entry {
  connected: boolean;
  fetched_ms: number;
}

/**
 * Answers "may the platform act as this account?" (`Stripe-Account`, or a connected account named in
 * /v1/accounts/:id) from a bounded in-process cache: one query per pair per TTL, not per request.
 * Reads through the system role's pool: the request has no merchant scope yet when it asks.
 */
export class ConnectedAccountAccess {
  private readonly cache = new Map<string, Entry>();

  constructor(
    private readonly pool: Pool,
    private readonly now_ms: () => number = Date.now,
  ) {}

  async isConnected(platform_id: string, account_id: string): Promise<boolean> {
    const pair = `${platform_id} ${account_id}`;
    const now_ms = this.now_ms();
    const cached = this.cache.get(pair);
    if (cached && now_ms - cached.fetched_ms < ACCOUNT_ACCESS_TTL_MS) return cached.connected;
    const connected = (await connectedAccountOf(this.pool, platform_id, account_id)) !== undefined;
    this.cache.delete(pair);
    if (this.cache.size >= MAX_CACHED_PAIRS) {
      const oldest = this.cache.keys().next().value;
      if (oldest !== undefined) this.cache.delete(oldest);
    }
    this.cache.set(pair, { connected, fetched_ms: now_ms });
    return connected;
  }

  /** Drops what is cached of an account (it was just created or deleted here). */
  forget(account_id: string): void {
    for (const pair of this.cache.keys()) if (pair.endsWith(` ${account_id}`)) this.cache.delete(pair);
  }
}
