import type { FastifyInstance, FastifyRequest } from 'fastify';
import { z } from 'zod';
import type { WriteDeps } from '../../../platform/write/pipeline.js';
import * as P from '../../../platform/http/params.js';
import { expandable, expandableList } from '../../../platform/http/expandable.js';
import { listOf, pageOf, pathId, routeKit } from '../../../platform/http/routes.js';
import { PayrailError } from '../../../kernel/errors.js';
import { payoutScheduleParams } from '../../settlement/index.js';
import { ACCOUNT_TYPES, BUSINESS_TYPES } from '../domain/account.js';
import type { AccountChange, ForgetAccount } from '../app/accounts.js';
import { createAccount, deleteAccount, listAccounts, retrieveAccount, updateAccountUseCase } from '../app/accounts.js';

/**
 * /v1/account and /v1/accounts: a merchant's own account, and a platform's connected accounts. The
 * gateway has already chosen the account a request acts as (request.merchant_id): a platform naming
 * its connected account in the path or in Stripe-Account acts as it. Links are ids; `expand[]` is refused.
 */
const nothingExpands = () => false;
const expandOnly = z.strictObject({ expand: expandable(nothingExpands).optional() });

const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;
const email = () =>
  P.text(5000).transform((value) => {
    if (!EMAIL.test(value)) throw new PayrailError('parameter_invalid', { param: 'email', message: 'Invalid email address.' });
    return value;
  });
const requested = z.strictObject({ requested: P.boolean().optional() });
/** The capabilities Payrail honours; Stripe's others are refused as unknown rather than shown active falsely. */
const capabilities = z.strictObject({ card_payments: requested.optional(), transfers: requested.optional() });

const changeFields = {
  email: email().optional(),
  business_type: z.union([z.literal('').transform(() => null), P.oneOf(BUSINESS_TYPES)]).optional(),
  default_currency: P.currency().optional(),
  metadata: P.metadata().optional(),
  capabilities: capabilities.optional(),
  settings: z.strictObject({ payouts: z.strictObject({ schedule: payoutScheduleParams.optional() }).optional() }).optional(),
  expand: expandable(nothingExpands).optional(),
};
const createSchema = z.strictObject({
  ...changeFields,
  type: P.oneOf(ACCOUNT_TYPES),
  country: P.nonEmptyText(2)
    .transform((value) => value.toUpperCase())
    .optional(),
});
const updateSchema = z.strictObject(changeFields);
const listSchema = z.strictObject({ ...P.listParams, expand: expandableList(nothingExpands).optional() });
const deleteSchema = z.strictObject({});

export interface AccountRouteDeps {
  write: WriteDeps;
  /** Drops the gateway's cached access to a deleted account. */
  forget: ForgetAccount;
}

export function accountRoutes(deps: AccountRouteDeps) {
  return async (app: FastifyInstance): Promise<void> => {
    const { get, post } = routeKit(app, deps.write);
    const reader = deps.write.reader;
    get('/v1/account', expandOnly, (m) => retrieveAccount(reader, m));
    post('/v1/accounts', createSchema, ['merchant'], (ctx, p, r) => createAccount(ctx, { ...changeOf(p), type: p.type, country: p.country }, r.platform_id));
    get('/v1/accounts', listSchema, async (m, q) => listOf('/v1/accounts', await listAccounts(reader, m, pageOf(q))));
    get('/v1/accounts/:id', expandOnly, (m, _q, r) => {
      checkActingAccount(m, r);
      return retrieveAccount(reader, m);
    });
    post('/v1/accounts/:id', updateSchema, [], (ctx, p, r) => {
      checkActingAccount(ctx.merchant_id, r);
      return updateAccountUseCase(ctx, changeOf(p));
    });
    post(
      '/v1/accounts/:id',
      deleteSchema,
      [],
      (ctx, _p, r) => {
        checkActingAccount(ctx.merchant_id, r);
        return deleteAccount(ctx, r.platform_id, deps.forget);
      },
      'DELETE',
    );
  };
}

function changeOf(params: z.output<typeof updateSchema>): AccountChange {
  return {
    email: params.email,
    business_type: params.business_type,
    default_currency: params.default_currency,
    metadata: params.metadata,
    capabilities: params.capabilities,
    schedule: params.settings?.payouts?.schedule,
  };
}

/**
 * The path names the account the request acts as: the key's own, or the connected account the
 * gateway switched to. Any other (another platform's, unknown, deleted) is Stripe's 403.
 */
function checkActingAccount(merchant_id: string, request: FastifyRequest): void {
  const id = pathId(request);
  if (id !== merchant_id)
    throw new PayrailError('account_invalid', {
      message: `The provided key does not have access to account '${/^acct_\w{1,64}$/.test(id) ? id : 'the account named'}' (or that account does not exist). Application access may have been revoked.`,
    });
}
