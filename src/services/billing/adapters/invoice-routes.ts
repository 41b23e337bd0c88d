import type { FastifyInstance } from 'fastify';
import { listOf, pageOf, pathId, routeKit } from '../../../platform/http/routes.js';
import type { OperationContext, Outcome } from '../../../platform/write/operation.js';
import type { BillingDeps } from '../app/deps.js';
import * as Invoices from '../app/invoices.js';
import * as Items from '../app/invoice-items.js';
import { markInvoiceUncollectible, finalizeInvoice, voidOpenInvoice } from '../app/invoice-transitions.js';
import { payInvoice } from '../app/invoice-payment.js';
import { renderUpcoming, upcomingInvoice, upcomingLines } from '../app/invoice-upcoming.js';
import { renderInvoice } from './invoice-render.js';
import type { PayParams } from './invoice-schemas.js';
import * as S from './invoice-schemas.js';

/** /v1/invoices and /v1/invoiceitems, behind the gateway's authentication; every POST and DELETE runs through the write pipeline. */
export function invoiceRoutes(deps: BillingDeps) {
  return async (app: FastifyInstance): Promise<void> => {
    const { post, get } = routeKit(app, deps.write);
    post('/v1/invoices', S.createInvoiceSchema, ['invoice'], (ctx, p) => Invoices.createInvoice(deps, ctx, p));
    get('/v1/invoices/upcoming', S.upcomingSchema, async (m, q) => renderUpcoming(deps, await upcomingInvoice(deps, m, q)));
    get('/v1/invoices/upcoming/lines', S.upcomingSchema, async (m, q) => upcomingLines(await upcomingInvoice(deps, m, q), q));
    get('/v1/invoices/:id', S.expandOnlySchema, (m, _q, r) => Invoices.retrieveInvoice(deps, m, pathId(r)));
    post('/v1/invoices/:id', S.updateInvoiceSchema, [], (ctx, p, r) => Invoices.updateDraftInvoice(deps, ctx, pathId(r), p));
    post('/v1/invoices/:id', S.expandOnlySchema, [], (ctx, _p, r) => Invoices.deleteDraftInvoice(deps, ctx, pathId(r)), 'DELETE');
    post('/v1/invoices/:id/finalize', S.finalizeSchema, [], (ctx, p, r) => finalizeInvoice(deps, ctx, pathId(r), p));
    post('/v1/invoices/:id/pay', S.paySchema, [], (ctx, p, r) => payRoute(deps, ctx, pathId(r), p));
    post('/v1/invoices/:id/void', S.expandOnlySchema, [], (ctx, _p, r) => voidOpenInvoice(deps, ctx, pathId(r)));
    post('/v1/invoices/:id/mark_uncollectible', S.expandOnlySchema, [], (ctx, _p, r) => markInvoiceUncollectible(deps, ctx, pathId(r)));
    get('/v1/invoices/:id/lines', S.linesSchema, (m, q, r) => Invoices.invoiceLines(deps, m, pathId(r), q));
    get('/v1/invoices', S.listInvoicesSchema, async (m, q) =>
      listOf(
        '/v1/invoices',
        await Invoices.listAllInvoices(
          deps,
          m,
          { customer: q.customer, status: q.status, subscription: q.subscription, collection_method: q.collection_method },
          pageOf(q),
        ),
      ),
    );

    post('/v1/invoiceitems', S.createItemSchema, ['invoice_item', 'invoice_line'], (ctx, p) => Items.createInvoiceItem(deps, ctx, p));
    get('/v1/invoiceitems/:id', S.expandOnlySchema, (m, _q, r) => Items.retrieveInvoiceItem(deps, m, pathId(r)));
    post('/v1/invoiceitems/:id', S.updateItemSchema, [], (ctx, p, r) => Items.updateInvoiceItem(deps, ctx, pathId(r), p));
    post('/v1/invoiceitems/:id', S.expandOnlySchema, [], (ctx, _p, r) => Items.deleteInvoiceItem(deps, ctx, pathId(r)), 'DELETE');
    get('/v1/invoiceitems', S.listItemsSchema, async (m, q) =>
      listOf('/v1/invoiceitems', await Items.listAllInvoiceItems(deps, m, { customer: q.customer, invoice: q.invoice, pending: q.pending }, pageOf(q))),
    );
  };
}

/**
 * POST /v1/invoices/:id/pay: the attempt runs its own pipeline steps (each under a key derived from the
 * invoice); this request stores only its answer — the invoice, or the card's decline as Stripe gives it.
 */
async function payRoute(deps: BillingDeps, ctx: OperationContext, id: string, params: PayParams): Promise<Outcome> {
  const result = await payInvoice(deps, ctx.merchant_id, id, params, ctx.request.id);
  const outcome: Outcome = result.error ? { error: result.error } : { ok: renderInvoice(result.invoice, deps.public_url()) };
  await ctx.commit([], outcome);
  return outcome;
}
