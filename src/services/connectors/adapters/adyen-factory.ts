/**
 * How a merchant's `adyen` connector account is configured: the web service user's API key, the
 * merchant account payments are made on, the Checkout API's base URL (Adyen's test or live endpoint,
 * or the local simulator) and the HMAC key its standard notifications are signed with. Both secrets
 * are shown back only as their last four characters. The registry (app/registry.ts) assembles these
 * parts; they name none of its types, so the two modules do not depend on each other.
 */
import { z } from 'zod';
import type { Clock } from '../../../kernel/clock.js';
import type { Pool } from '../../../platform/db.js';
import { isHmacKey } from '../domain/adyen-hmac.js';
import type { AdyenCredentials } from './adyen-connector.js';
import { AdyenConnector } from './adyen-connector.js';

export const adyenCredentials = z.strictObject({
  api_key: z.string().min(8).max(512),
  merchant_account: z.string().min(1).max(80),
  base_url: z
    .url({ protocol: /^https?$/ })
    .max(2_048)
    .default('https://checkout-test.adyen.com'),
  hmac_key: z.string().refine(isHmacKey, { message: 'the HMAC key in hex, as the Customer Area shows it' }),
}) satisfies z.ZodType<AdyenCredentials, unknown>;

export const ADYEN_SECRET_FIELDS: readonly string[] = ['api_key', 'hmac_key'];

export function createAdyenConnector(
  credentials: AdyenCredentials,
  ctx: { clock: Clock; pool: Pool; fetch_timeout_ms: number; account: { merchant_id: string } },
): AdyenConnector {
  return new AdyenConnector({ credentials, merchant_id: ctx.account.merchant_id, pool: ctx.pool, clock: ctx.clock, timeout_ms: ctx.fetch_timeout_ms });
}
