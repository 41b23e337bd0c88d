import type { FastifyInstance, FastifyRequest } from 'fastify';
import { z } from 'zod';
import type { Pool } from '../../../platform/db.js';
import type { Clock } from '../../../kernel/clock.js';
import { unixSeconds } from '../../../kernel/clock.js';
import { PayrailError } from '../../../kernel/errors.js';
import * as P from '../../../platform/http/params.js';
import { expandable, expandableList } from '../../../platform/http/expandable.js';
import { merchantOf } from '../../../platform/http/request-context.js';
import { listBalanceTransactions, retrieveBalance, retrieveBalanceTransaction } from '../app/balance.js';

export interface LedgerRouteDeps {
  reader: Pool;
  clock: Clock;
  /** For `expand[]=source`: the charge or refund a balance transaction is about, from the service that owns it. */
  source: (merchant_id: string, source_id: string) => Promise<Record<string, unknown> | undefined>;
  /** For `?payout=po_…`: the balance transactions an automatic payout settled (settlement service); throws for an unknown or manual payout. */
  payout_transactions?: (merchant_id: string, payout_id: string) => Promise<readonly string[]>;
}

/** A balance transaction expands its `source` (the charge or refund); `fee_details` is embedded already. */
const canExpand = (segments: readonly string[]) => segments.length === 1 && (segments[0] === 'source' || segments[0] === 'fee_details');
const retrieveSchema = z.strictObject({ expand: expandable(canExpand).optional() });
const balanceSchema = z.strictObject({ expand: expandable(() => false).optional() });
const listSchema = z.strictObject({
  ...P.listParams,
  expand: expandableList(canExpand).optional(),
  type: P.text(100).optional(),
  source: P.text(255).optional(),
  currency: P.currency().optional(),
  payout: P.text(255).optional(),
});

/** Stripe's balance surface, as a Fastify plugin: GET /v1/balance, GET /v1/balance_transactions and /:id. Read-only. */
export function ledgerRoutes(deps: LedgerRouteDeps) {
  return async (app: FastifyInstance): Promise<void> => registerLedgerRoutes(app, deps);
}

function registerLedgerRoutes(app: FastifyInstance, deps: LedgerRouteDeps): void {
  app.get('/v1/balance', async (request) => {
    P.parseParams(balanceSchema, request.query);
    return retrieveBalance(deps.reader, merchantOf(request));
  });

  app.get('/v1/balance_transactions/:id', async (request) => {
    const query = P.parseParams(retrieveSchema, request.query);
    const merchant_id = merchantOf(request);
    const body = await retrieveBalanceTransaction(deps.reader, merchant_id, idOf(request), unixSeconds(deps.clock));
    return expandSource(deps, merchant_id, body, (query.expand ?? []).includes('source'));
  });

  app.get('/v1/balance_transactions', async (request) => {
    const query = P.parseParams(listSchema, request.query);
    const merchant_id = merchantOf(request);
    const page = { limit: query.limit, starting_after: query.starting_after, ending_before: query.ending_before, created: P.parseCreatedFilter(query.created) };
    const payout_transactions = query.payout !== undefined ? await deps.payout_transactions?.(merchant_id, query.payout) : undefined;
    const result = await listBalanceTransactions(deps.reader, merchant_id, page, { ...query, payout_transactions }, unixSeconds(deps.clock));
    const expand = (query.expand ?? []).includes('data.source');
    const data = await Promise.all(result.data.map((item) => expandSource(deps, merchant_id, item, expand)));
    return { object: 'list', data, has_more: result.has_more, url: '/v1/balance_transactions' };
  });
}

function idOf(request: FastifyRequest): string {
  const value = (request.params as { id: string }).id;
  if (!P.isStorableText(value)) throw new PayrailError('resource_missing', { message: 'No such object: the id contains characters no id has.' });
  return value;
}

async function expandSource(deps: LedgerRouteDeps, merchant_id: string, body: Record<string, unknown>, expand: boolean): Promise<Record<string, unknown>> {
  const source = body.source;
  if (!expand || typeof source !== 'string') return body;
  const object = await deps.source(merchant_id, source);
  return object ? { ...body, source: object } : body;
}
