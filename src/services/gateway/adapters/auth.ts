import type { FastifyRequest } from 'fastify';
import { PayrailError } from '../../../kernel/errors.js';
import type { ApiKeyResolver, AuthenticatedKey } from '../../merchants/index.js';
import type { RequiredPermission } from '../../merchants/index.js';
import { allows, expansionPermissions, publishableRule, requiredPermission, stripePermissionName } from '../../merchants/index.js';
import { expandEntries } from '../../../platform/http/params.js';
import { publishableView } from '../domain/publishable-view.js';

const MAX_KEY_LENGTH = 200;

declare module 'fastify' {
  interface FastifyRequest {
    /** The key this request authenticated with (its id, kind and permissions; never the key itself). */
    api_key: AuthenticatedKey | undefined;
  }
}

/**
 * The client-secret check of a publishable-key request (`GET /v1/payment_intents/:id?client_secret=…`):
 * the service owning the object answers whether `client_secret` is that object's. Without one wired
 * for a route, publishable keys are refused there.
 */
export type ClientSecretCheck = (merchant_id: string, route: string, object_id: string, client_secret: string) => Promise<boolean>;

/** Reads the key from `Authorization: Bearer sk_…` or Basic with the key as user name. */
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

/** Resolves the request's key, then checks what its kind may do on this route (before the body is read). */
export async function authenticate(request: FastifyRequest, keys: ApiKeyResolver): Promise<AuthenticatedKey> {
  const key = secretKeyFrom(request);
  if (!key) {
    throw new PayrailError('api_key_missing', {
      message: 'You did not provide an API key. Provide it in the Authorization header, using Bearer auth (e.g. "Authorization: Bearer YOUR_SECRET_KEY").',
    });
  }
  const found = key.length <= MAX_KEY_LENGTH ? await keys.resolve(key) : undefined;
  // The key itself is never echoed, not even masked: errors and logs must not carry it.
  if (found === 'expired') throw new PayrailError('api_key_expired', { message: 'Expired API Key provided. Roll or create a new key.' });
  if (!found) throw new PayrailError('api_key_invalid', { message: 'Invalid API Key provided.' });
  authorizeRoute(request, found);
  return found;
}

function routeOf(request: FastifyRequest): string {
  return request.routeOptions.url ?? request.url.split('?', 1)[0] ?? '';
}

function authorizeRoute(request: FastifyRequest, key: AuthenticatedKey): void {
  const route = routeOf(request);
  if (key.kind === 'publishable' && !publishableRule(request.method, route)) throw secretKeyRequired();
  if (key.kind === 'restricted') refuseUnlessAllowed(key, requiredPermission(request.method, route));
}

function refuseUnlessAllowed(key: AuthenticatedKey, required: RequiredPermission): void {
  if (allows(key.permissions ?? {}, required)) return;
  throw new PayrailError('permission_denied', {
    message:
      `The provided key does not have the required permissions for this endpoint on account '${key.merchant_id}'. ` +
      `Having the '${stripePermissionName(required)}' permission would allow this request to continue.`,
  });
}

/** A restricted key's `expand[]` (read once the body is parsed) reaches only resources it may read. */
export function checkExpandPermissions(request: FastifyRequest): void {
  const key = request.api_key;
  if (key?.kind !== 'restricted') return;
  const source = (request.method === 'GET' ? request.query : request.body) as Record<string, unknown> | undefined;
  if (source?.expand === undefined) return;
  const paths = expandEntries(source.expand).filter((entry): entry is string => typeof entry === 'string');
  for (const required of expansionPermissions(paths)) refuseUnlessAllowed(key, required);
}

/**
 * A publishable key on a route that needs the object's `client_secret` (read after the body is
 * parsed): the secret must be sent and be the object's, as the route's service says.
 */
export async function checkClientSecret(request: FastifyRequest, check: ClientSecretCheck | undefined): Promise<void> {
  const key = request.api_key;
  if (key?.kind !== 'publishable' || publishableRule(request.method, routeOf(request)) !== 'client_secret') return;
  const source = (request.method === 'GET' ? request.query : request.body) as Record<string, unknown> | undefined;
  const client_secret = source?.client_secret;
  const object_id = (request.params as { id?: unknown } | undefined)?.id;
  if (!check || typeof client_secret !== 'string' || client_secret === '' || typeof object_id !== 'string') throw secretKeyRequired();
  if (!(await check(key.merchant_id, routeOf(request), object_id, client_secret))) {
    throw new PayrailError('parameter_invalid', {
      param: 'client_secret',
      message: 'The client_secret provided does not match the client_secret associated with this object.',
    });
  }
}

/**
 * An answer to a publishable key on a `client_secret` route (retrieve, confirm, the 3-D Secure step)
 * carries only the intent's publishable fields, as Stripe's does: the key and the secret are both in
 * the customer's browser, and must not show the merchant's customer, metadata or charges.
 */
export function publishablePayload(request: FastifyRequest, payload: unknown): unknown {
  const key = request.api_key;
  if (key?.kind !== 'publishable' || publishableRule(request.method, routeOf(request)) !== 'client_secret' || typeof payload !== 'string') return payload;
  return JSON.stringify(publishableView(JSON.parse(payload)));
}

function secretKeyRequired(): PayrailError {
  return new PayrailError('secret_key_required', {
    message: 'This API call cannot be made with a publishable API key. Please use a secret API key.',
  });
}
