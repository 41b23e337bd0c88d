import type { FastifyRequest } from 'fastify';
import { PayrailError } from '../../kernel/errors.js';
import { sameSecret } from '../../kernel/secrets.js';

/**
 * The operators' API (`/admin/v1`) answers only `Authorization: Bearer <PAYRAIL_ADMIN_TOKEN>`: this is
 * that check as an `onRequest` hook, for a route plugin of the admin API to add. Wrong tokens are
 * counted as failed authentications by the gateway's hooks, like wrong API keys.
 */
export function adminTokenHook(admin_token: string): (request: FastifyRequest) => Promise<void> {
  return async (request) => {
    const header = request.headers.authorization ?? '';
    const token = header.toLowerCase().startsWith('bearer ') ? header.slice('bearer '.length).trim() : '';
    if (!token) throw new PayrailError('api_key_missing', { message: 'The admin API needs "Authorization: Bearer <PAYRAIL_ADMIN_TOKEN>".' });
    if (!sameSecret(admin_token, token)) throw new PayrailError('api_key_invalid', { message: 'Invalid admin token provided.' });
  };
}
