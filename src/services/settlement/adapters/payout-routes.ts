import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { WriteDeps } from '../../../platform/write/pipeline.js';
import * as P from '../../../platform/http/params.js';
import { expandable, expandableList } from '../../../platform/http/expandable.js';
import { listOf, pageOf, pathId, pathParam, routeKit } from '../../../platform/http/routes.js';
import { PayrailError } from '../../../kernel/errors.js';
import { TEST_BANK_TOKENS, TEST_ROUTING_NUMBER, renderBankAccount } from '../domain/bank-account.js';
import type { BankAccountInput } from '../domain/bank-account.js';
import { DELAY_DAYS_MAX, PAYOUT_INTERVALS, WEEKDAYS } from '../domain/payout-schedule.js';
import { statementDescriptorProblem } from '../domain/payout.js';
import type { BankAccountDeps } from '../app/bank-accounts.js';
import { createBankAccount, deleteBankAccount, retrieveBankAccount, updateBankAccountUseCase } from '../app/bank-accounts.js';
import { createPayout, listPayouts, retrievePayout, updatePayoutMetadata } from '../app/payouts.js';
import { cancelPayout } from '../app/payout-bank.js';
import { checkOwnAccount } from '../app/payout-account.js';
import { listBankAccounts } from './payout-store.js';

/**
 * Payouts' HTTP surface: /v1/payouts and an account's external_accounts (bank accounts); the account
 * itself and its payout schedule are the connect service's routes. Every object's links are ids;
 * expanding them is not served yet, so `expand[]` is refused rather than ignored.
 */
const nothingExpands = () => false;
const expandOnly = z.strictObject({ expand: expandable(nothingExpands).optional() });

const descriptor = () =>
  P.text(22).transform((value) => {
    const problem = statementDescriptorProblem(value);
    if (problem) throw new PayrailError('parameter_invalid', { param: 'statement_descriptor', message: problem });
    return value;
  });

const createPayoutSchema = z.strictObject({
  amount: P.amount(),
  currency: P.currency(),
  destination: P.nonEmptyText(255).optional(),
  description: P.text(5000).optional(),
  metadata: P.metadata().optional(),
  method: P.oneOf(['standard'] as const).optional(),
  source_type: P.oneOf(['card'] as const).optional(),
  statement_descriptor: descriptor().optional(),
  expand: expandable(nothingExpands).optional(),
});

const listPayoutsSchema = z.strictObject({
  ...P.listParams,
  expand: expandableList(nothingExpands).optional(),
  status: P.oneOf(['pending', 'in_transit', 'paid', 'failed', 'canceled'] as const).optional(),
  destination: P.text(255).optional(),
  arrival_date: z.unknown().optional(),
});

const updatePayoutSchema = z.strictObject({ metadata: P.metadata().optional(), expand: expandable(nothingExpands).optional() });

/** `settings[payouts][schedule]` of POST /v1/accounts/:id (the connect service's route). */
export const payoutScheduleParams = z.strictObject({
  interval: P.oneOf(PAYOUT_INTERVALS).optional(),
  delay_days: z.union([z.literal('minimum'), P.integer({ min: 0, max: DELAY_DAYS_MAX })]).optional(),
  weekly_anchor: P.oneOf(WEEKDAYS).optional(),
  monthly_anchor: P.integer({ min: 1, max: 31 }).optional(),
});
const bankAccountHash = z.strictObject({
  object: P.oneOf(['bank_account'] as const),
  country: P.oneOf(['US'] as const),
  currency: P.currency(),
  routing_number: P.nonEmptyText(20),
  account_number: P.nonEmptyText(34),
  account_holder_name: P.text(5000).optional(),
  account_holder_type: P.oneOf(['individual', 'company'] as const).optional(),
});
/**
 * A test token, or the bank account's details. Not a union: a union's error names only
 * `external_account`, while Stripe's name the detail at fault (`external_account[account_number]`).
 */
const externalAccount = z.unknown().transform((value, ctx) => {
  const parsed = (typeof value === 'string' ? P.nonEmptyText(255) : bankAccountHash).safeParse(value);
  if (parsed.success) return parsed.data;
  for (const issue of parsed.error.issues) ctx.addIssue(issue as Parameters<typeof ctx.addIssue>[0] & object);
  return z.NEVER;
});
const createBankAccountSchema = z.strictObject({
  external_account: externalAccount,
  default_for_currency: P.boolean().optional(),
  metadata: P.metadata().optional(),
  expand: expandable(nothingExpands).optional(),
});
const updateBankAccountSchema = z.strictObject({
  default_for_currency: P.boolean().optional(),
  account_holder_name: P.clearableText(5000).optional(),
  account_holder_type: z.union([z.literal('').transform(() => null), P.oneOf(['individual', 'company'] as const)]).optional(),
  metadata: P.metadata().optional(),
  expand: expandable(nothingExpands).optional(),
});
const listBankAccountsSchema = z.strictObject({
  ...P.listParams,
  expand: expandableList(nothingExpands).optional(),
  object: P.oneOf(['bank_account'] as const).optional(),
});

/** A test token (`btok_us_verified…`) or the bank account's details; a token names one of Stripe's test numbers. */
function bankAccountInput(
  external_account: string | z.output<typeof bankAccountHash>,
  metadata: Record<string, string | null> | null | undefined,
): BankAccountInput {
  const clean = Object.fromEntries(Object.entries(metadata ?? {}).filter((entry): entry is [string, string] => entry[1] !== null));
  if (typeof external_account === 'string') {
    const number = TEST_BANK_TOKENS[external_account];
    if (number === undefined)
      throw new PayrailError('resource_missing', {
        param: 'external_account',
        message: 'No such token: only Stripe’s test bank tokens (btok_us_verified…) are known.',
      });
    return {
      country: 'US',
      currency: 'usd',
      routing_number: TEST_ROUTING_NUMBER,
      account_number: number,
      account_holder_name: null,
      account_holder_type: null,
      metadata: clean,
    };
  }
  return {
    country: external_account.country,
    currency: external_account.currency,
    routing_number: external_account.routing_number,
    account_number: external_account.account_number,
    account_holder_name: external_account.account_holder_name ?? null,
    account_holder_type: external_account.account_holder_type ?? null,
    metadata: clean,
  };
}

export interface PayoutRouteDeps {
  write: WriteDeps;
  bank_accounts: BankAccountDeps;
}

export function payoutRoutes(deps: PayoutRouteDeps) {
  return async (app: FastifyInstance): Promise<void> => {
    const { get, post } = routeKit(app, deps.write);
    const reader = deps.write.reader;
    post('/v1/payouts', createPayoutSchema, ['payout'], (ctx, p) => createPayout(ctx, p));
    get('/v1/payouts', listPayoutsSchema, async (m, q) =>
      listOf(
        '/v1/payouts',
        await listPayouts(reader, m, pageOf(q), { status: q.status, destination: q.destination, arrival_date: arrivalFilter(q.arrival_date) }),
      ),
    );
    get('/v1/payouts/:id', expandOnly, (m, _q, r) => retrievePayout(reader, m, pathId(r)));
    post('/v1/payouts/:id', updatePayoutSchema, [], (ctx, p, r) => updatePayoutMetadata(ctx, pathId(r), p.metadata));
    post('/v1/payouts/:id/cancel', expandOnly, [], (ctx, _p, r) => cancelPayout(ctx, pathId(r)));

    const external = '/v1/accounts/:id/external_accounts';
    post(external, createBankAccountSchema, ['bank_account'], (ctx, p, r) => {
      checkOwnAccount(ctx.merchant_id, pathId(r));
      return createBankAccount(deps.bank_accounts, ctx, { ...bankAccountInput(p.external_account, p.metadata), default_for_currency: p.default_for_currency });
    });
    get(external, listBankAccountsSchema, async (m, q, r) => {
      checkOwnAccount(m, pathId(r));
      if (q.starting_after !== undefined || q.ending_before !== undefined || q.created !== undefined)
        throw new PayrailError('parameter_unknown', {
          message: 'A merchant has few bank accounts: they are listed whole, without cursors or created filters.',
        });
      const all = await listBankAccounts(reader, m);
      const limit = q.limit ?? 10;
      return listOf(`/v1/accounts/${m}/external_accounts`, { data: all.slice(0, limit).map(renderBankAccount), has_more: all.length > limit });
    });
    get(`${external}/:bank_account`, expandOnly, (m, _q, r) => {
      checkOwnAccount(m, pathId(r));
      return retrieveBankAccount({ reader }, m, pathParam(r, 'bank_account'));
    });
    post(`${external}/:bank_account`, updateBankAccountSchema, [], (ctx, p, r) => {
      checkOwnAccount(ctx.merchant_id, pathId(r));
      return updateBankAccountUseCase(ctx, pathParam(r, 'bank_account'), p);
    });
    post(
      `${external}/:bank_account`,
      z.strictObject({}),
      [],
      (ctx, _p, r) => {
        checkOwnAccount(ctx.merchant_id, pathId(r));
        return deleteBankAccount(ctx, pathParam(r, 'bank_account'));
      },
      'DELETE',
    );
  };
}

/** `arrival_date`: an integer, or a hash with gt, gte, lt, lte (the same shape as `created`). */
function arrivalFilter(value: unknown): { gt?: number; gte?: number; lt?: number; lte?: number } | undefined {
  try {
    return P.parseCreatedFilter(value);
  } catch (error) {
    if (error instanceof PayrailError)
      throw new PayrailError(error.code, {
        param: error.param?.replace(/^created/, 'arrival_date'),
        message: error.message.replace(/created/g, 'arrival_date'),
      });
    throw error;
  }
}
