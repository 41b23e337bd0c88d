import type Stripe from 'stripe';
import type { TestPlatform } from './platform.js';
import { stripeClient } from './platform.js';
import { createMerchant } from '../../src/services/merchants/app/merchants.js';
import { UlidGenerator } from '../../src/kernel/ids.js';
import { DEFAULT_RULE_ID, addRule, setRuleEnabled } from '../../src/services/risk/index.js';

/** A merchant of its own, so the rules a test sets are the ones its first payment reads. */
export async function freshMerchant(platform: TestPlatform): Promise<{ merchant_id: string; secret_key: string; stripe: Stripe }> {
  const store = { pool: platform.platform.database.pool, hasher: platform.platform.key_hasher, ids: new UlidGenerator() };
  const keys = await createMerchant(store, Math.floor(Date.now() / 1000), { name: 'Risk test merchant' });
  return { merchant_id: keys.merchant_id, secret_key: keys.secret_key, stripe: stripeClient(platform.url, keys.secret_key) };
}

export function ruleAdmin(platform: TestPlatform) {
  const deps = { pool: platform.platform.database.pool, ids: new UlidGenerator() };
  const change = () => ({ now_ms: Date.now(), actor: { type: 'cli' as const } });
  return {
    add: (merchant_id: string, text: string) => addRule(deps, merchant_id, text, change()),
    disableDefault: (merchant_id: string) => setRuleEnabled(deps, merchant_id, DEFAULT_RULE_ID, false, change()),
  };
}
