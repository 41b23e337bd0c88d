import { randomBytes } from 'node:crypto';
import type { Pool } from '../../../platform/db.js';
import { run, sql } from '../../../platform/db.js';
import { PayrailError } from '../../../kernel/errors.js';
import { anyDashboardUser, createDashboardUser } from './users.js';

/**
 * The first dashboard user: from the CLI (`payrail dashboard create-user`), or, in test mode, made by
 * the first start as owner@example.com with a random password printed once, as the secret key is.
 */

export const FIRST_OWNER_EMAIL = 'owner@example.com';
/** 18 random bytes: a 24-character password with 144 bits of entropy. */
const GENERATED_PASSWORD_BYTES = 18;

export function generatedPassword(random: (bytes: number) => Buffer = randomBytes): string {
  return random(GENERATED_PASSWORD_BYTES).toString('base64url');
}

/** The merchant the platform made on its first start (the oldest one that is nobody's connected account). */
export async function defaultMerchantId(pool: Pool): Promise<string | undefined> {
  const { rows } = await run<{ id: string }>(pool, sql`SELECT id FROM merchants.merchants WHERE platform_id IS NULL ORDER BY created, id LIMIT 1`);
  return rows[0]?.id;
}

/** Creates owner@example.com when there is no dashboard user at all; its password, or undefined when nothing was created. */
export async function ensureFirstOwner(pool: Pool): Promise<{ email: string; password: string } | undefined> {
  if (await anyDashboardUser(pool)) return undefined;
  const merchant_id = await defaultMerchantId(pool);
  if (!merchant_id) return undefined;
  const password = generatedPassword();
  try {
    await createDashboardUser(pool, { merchant_id, email: FIRST_OWNER_EMAIL, password, role: 'owner' });
  } catch (error) {
    // Another process starting at the same moment made it first.
    if (error instanceof PayrailError && error.code === 'resource_already_exists') return undefined;
    throw error;
  }
  return { email: FIRST_OWNER_EMAIL, password };
}
