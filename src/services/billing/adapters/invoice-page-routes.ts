import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { PayrailError } from '../../../kernel/errors.js';
import { sameSecret } from '../../../kernel/secrets.js';
import * as P from '../../../platform/http/params.js';
import { parseParams } from '../../../platform/http/params.js';
import type { Invoice } from '../domain/invoice.js';
import { invoiceDocument } from '../domain/invoice-document.js';
import type { BillingDeps } from '../app/deps.js';
import { findInvoiceById } from './invoice-store.js';
import { INVOICE_PAGE_CSP, invoicePage } from './invoice-page.js';
import { renderInvoicePdf } from './invoice-pdf.js';
import { invoicePdfUrl } from './invoice-render.js';

/**
 * hosted_invoice_url and invoice_pdf: outside /v1, no API key; the URL's secret (`s`) proves its holder
 * was given the invoice's link. A draft has neither, as in Stripe; any failure is one plain 404.
 */

const querySchema = z.strictObject({ s: P.nonEmptyText(200) });

const PAGE_HEADERS = {
  'content-security-policy': INVOICE_PAGE_CSP,
  'referrer-policy': 'no-referrer',
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'cache-control': 'no-store',
};

export function invoicePageRoutes(deps: BillingDeps) {
  return async (app: FastifyInstance): Promise<void> => {
    app.get('/invoices/:id', async (request, reply) => {
      const invoice = await openInvoice(deps, request);
      const payable = invoice.status === 'open' || invoice.status === 'uncollectible';
      const html = invoicePage(invoiceDocument(invoice), invoicePdfUrl(deps.public_url(), invoice), payable);
      return reply.headers(PAGE_HEADERS).type('text/html; charset=utf-8').send(html);
    });
    app.get('/invoices/:id/pdf', async (request, reply) => {
      const invoice = await openInvoice(deps, request);
      const pdf = await renderInvoicePdf(invoiceDocument(invoice), new Date((invoice.status_transitions.finalized_at ?? invoice.created) * 1000));
      return pdfReply(reply, invoice).send(pdf);
    });
  };
}

async function openInvoice(deps: BillingDeps, request: FastifyRequest): Promise<Invoice> {
  const { s } = parseParams(querySchema, request.query);
  const id = (request.params as { id: string }).id;
  const invoice = P.isStorableText(id) ? await findInvoiceById(deps.lookup, id) : undefined;
  if (!invoice || invoice.status === 'draft' || !sameSecret(invoice.page_secret, s)) {
    throw new PayrailError('resource_missing', { message: 'No such invoice.' });
  }
  return invoice;
}

function pdfReply(reply: FastifyReply, invoice: Invoice): FastifyReply {
  const name = `Invoice-${invoice.number ?? invoice.id}.pdf`.replace(/[^\w.-]/g, '_');
  return reply
    .headers({ 'x-content-type-options': 'nosniff', 'cache-control': 'no-store', 'referrer-policy': 'no-referrer' })
    .type('application/pdf')
    .header('content-disposition', `inline; filename="${name}"`);
}
