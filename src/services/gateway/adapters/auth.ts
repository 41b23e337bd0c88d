import type { FastifyRequest } from 'fastify';
import { PayrailError } from '../../../kernel/errors.js';
import type { ApiKeyResolver } from '../../merchants/index.js';

const MAX_KEY_LENGTH = 200;

/** Reads the secret key from `Authorization: Bearer sk_…` or Basic with the key as user name. */
export function secretKeyFrom(request: FastifyRequest): string | undefined {
  const header = request.headers.authorization;
  if (!header) return undefined;
  const [scheme, value] = header.split(' ', 2);
  if (!value) return undefined;
  if (scheme?.toLowerCase() === 'bearer') return value.trim();
  if (scheme?.toLowerCase() === 'basic') {
    const decoded = Buffer.from(value, 'base64').toString('utf8');
    return decoded.split(':', 1)[0];
  }
  return undefined;
}

export async function authenticate(request: FastifyRequest, keys: ApiKeyResolver): Promise<string> {
  const key = secretKeyFrom(request);
  if (!key) {
    throw new PayrailError('api_key_missing', {
      message: 'You did not provide an API key. Provide it in the Authorization header, using Bearer auth (e.g. "Authorization: Bearer YOUR_SECRET_KEY").',
    });
  }
  const merchant_id = key.length <= MAX_KEY_LENGTH ? await keys.merchantFor(key) : undefined;
  // The key itself is never echoed, not even masked: errors and logs must not carry it.
  if (!merchant_id) throw new PayrailError('api_key_invalid', { message: 'Invalid API Key provided.' });
  return merchant_id;
}
