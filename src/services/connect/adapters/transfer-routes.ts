import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { WriteDeps } from '../../../platform/write/pipeline.js';
import * as P from '../../../platform/http/params.js';
import { expandable, expandableList } from '../../../platform/http/expandable.js';
import { listOf, pageOf, pathId, pathParam, routeKit } from '../../../platform/http/routes.js';
import { PayrailError } from '../../../kernel/errors.js';
import { createTransfer, listTransfersUseCase, retrieveTransfer, updateTransferUseCase } from '../app/transfers.js';
import { createReversal, listReversalsUseCase, retrieveReversal, updateReversalMetadata } from '../app/transfer-reversals.js';

/**
 * /v1/transfers and their reversals. Links are ids; `expand[]` is refused rather than ignored.
 * `source_transaction` (a transfer funded by one charge) and a reversal's `refund_application_fee`
 * are not served, so they are refused as unknown parameters.
 */
const nothingExpands = () => false;
const expandOnly = z.strictObject({ expand: expandable(nothingExpands).optional() });

/** At least one minor unit: a transfer of nothing is refused, as on Stripe. */
const positiveAmount = () =>
  P.amount().transform((value) => {
    if (value < 1) throw new PayrailError('amount_too_small', { param: 'amount', message: 'Amount must be at least 1 in the currency’s smallest unit.' });
    return value;
  });

const createTransferSchema = z.strictObject({
  amount: positiveAmount(),
  currency: P.currency(),
  destination: P.nonEmptyText(255),
  description: P.text(5000).optional(),
  metadata: P.metadata().optional(),
  source_type: P.oneOf(['card'] as const).optional(),
  transfer_group: P.nonEmptyText(5000).optional(),
  expand: expandable(nothingExpands).optional(),
});

const listTransfersSchema = z.strictObject({
  ...P.listParams,
  expand: expandableList(nothingExpands).optional(),
  destination: P.text(255).optional(),
  transfer_group: P.text(5000).optional(),
});

const updateTransferSchema = z.strictObject({
  description: P.text(5000).optional(),
  metadata: P.metadata().optional(),
  expand: expandable(nothingExpands).optional(),
});

const createReversalSchema = z.strictObject({
  amount: positiveAmount().optional(),
  metadata: P.metadata().optional(),
  expand: expandable(nothingExpands).optional(),
});

const listReversalsSchema = z.strictObject({
  limit: P.listParams.limit,
  starting_after: P.listParams.starting_after,
  ending_before: P.listParams.ending_before,
  expand: expandableList(nothingExpands).optional(),
});

const updateReversalSchema = z.strictObject({ metadata: P.metadata().optional(), expand: expandable(nothingExpands).optional() });

export interface TransferRouteDeps {
  write: WriteDeps;
}

export function transferRoutes(deps: TransferRouteDeps) {
  return async (app: FastifyInstance): Promise<void> => {
    const { get, post } = routeKit(app, deps.write);
    const reader = deps.write.reader;
    post('/v1/transfers', createTransferSchema, ['transfer', 'destination_payment'], (ctx, p) => createTransfer(ctx, p));
    get('/v1/transfers', listTransfersSchema, async (m, q) =>
      listOf('/v1/transfers', await listTransfersUseCase(reader, m, pageOf(q), { destination: q.destination, transfer_group: q.transfer_group })),
    );
    get('/v1/transfers/:id', expandOnly, (m, _q, r) => retrieveTransfer(reader, m, pathId(r)));
    post('/v1/transfers/:id', updateTransferSchema, [], (ctx, p, r) => updateTransferUseCase(ctx, pathId(r), p));

    const reversals = '/v1/transfers/:id/reversals';
    post(reversals, createReversalSchema, ['transfer_reversal', 'destination_payment_refund'], (ctx, p, r) => createReversal(ctx, pathId(r), p));
    get(reversals, listReversalsSchema, async (m, q, r) => {
      const id = pathId(r);
      return listOf(`/v1/transfers/${id}/reversals`, await listReversalsUseCase(reader, m, id, pageOf(q)));
    });
    get(`${reversals}/:reversal`, expandOnly, (m, _q, r) => retrieveReversal(reader, m, pathId(r), pathParam(r, 'reversal')));
    post(`${reversals}/:reversal`, updateReversalSchema, [], (ctx, p, r) => updateReversalMetadata(ctx, pathId(r), pathParam(r, 'reversal'), p.metadata));
  };
}
