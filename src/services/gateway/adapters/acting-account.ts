import type { FastifyRequest } from 'fastify';
import { PayrailError } from '../../../kernel/errors.js';
import type { AuthenticatedKey, ConnectedAccountAccess } from '../../merchants/index.js';

declare module 'fastify' {
  interface FastifyRequest {
    /**
     * The platform acting when a request runs as one of its connected accounts (`Stripe-Account`, or
     * the account named in /v1/accounts/:id): the key's merchant. Undefined when the request acts as
     * the key's own merchant. `merchant_id` is then the connected account.
     */
    platform_id: string | undefined;
  }
}

const ACCOUNT_ID = /^acct_\w{1,64}$/;
/** Routes about one account, whose `:id` a platform may name to act on its connected account. */
const ACCOUNT_ROUTE = '/v1/accounts/:id';

/**
 * Which account an authenticated request acts as. `Stripe-Account: acct_X` from a platform's key runs
 * it as acct_X when acct_X is the platform's live connected account, and is refused otherwise;
 * naming the key's own account is allowed (as on Stripe). Without the header, /v1/accounts/:id and the
 * routes below it act as the connected account the path names, so its payout schedule and bank
 * accounts are read and written in its own scope; any other id is left to the route to refuse.
 */
export async function resolveActingAccount(request: FastifyRequest, key: AuthenticatedKey, access: ConnectedAccountAccess): Promise<void> {
  request.merchant_id = key.merchant_id;
  const header = headerString(request.headers['stripe-account'])?.trim();
  if (header !== undefined && header !== key.merchant_id) {
    if (!ACCOUNT_ID.test(header) || !(await access.isConnected(key.merchant_id, header))) throw noAccess(key, header);
    actAs(request, header, key.merchant_id);
    return;
  }
  const path_account = header === undefined ? accountInPath(request) : undefined;
  if (path_account !== undefined && path_account !== key.merchant_id && (await access.isConnected(key.merchant_id, path_account))) {
    actAs(request, path_account, key.merchant_id);
  }
}

function actAs(request: FastifyRequest, account_id: string, platform_id: string): void {
  request.merchant_id = account_id;
  request.platform_id = platform_id;
}

function accountInPath(request: FastifyRequest): string | undefined {
  const route = request.routeOptions.url ?? '';
  if (route !== ACCOUNT_ROUTE && !route.startsWith(`${ACCOUNT_ROUTE}/`)) return undefined;
  const id = (request.params as Record<string, string | undefined>).id;
  return id !== undefined && ACCOUNT_ID.test(id) ? id : undefined;
}

/** Stripe's refusal, with the key masked as Stripe masks it here (its kind and mode, never a character of it). */
export function noAccess(key: Pick<AuthenticatedKey, 'kind' | 'livemode'>, account: string): PayrailError {
  const shown = ACCOUNT_ID.test(account) ? account : 'the account named';
  const prefix = { secret: 'sk', restricted: 'rk', publishable: 'pk' }[key.kind];
  return new PayrailError('account_invalid', {
    message:
      `The provided key '${prefix}_${key.livemode ? 'live' : 'test'}_***' does not have access to account '${shown}' ` +
      '(or that account does not exist). Application access may have been revoked.',
  });
}

function headerString(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}
