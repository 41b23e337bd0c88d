import type { FastifyInstance, FastifyReply } from 'fastify';
import { z } from 'zod';
import * as P from '../../../platform/http/params.js';
import { parseParams } from '../../../platform/http/params.js';
import { withMerchant } from '../../../platform/merchant-scope.js';
import { amountSubtotal, isPastExpiry, redirectUrl } from '../domain/session.js';
import type { CheckoutSession } from '../domain/session.js';
import type { CheckoutDeps } from '../app/deps.js';
import { completeIfDone, runFor } from '../app/hosted.js';
import { authenticate, openSession, pay } from '../app/page-actions.js';
import type { PageResult } from '../app/page-actions.js';
import { expireSession } from '../app/sessions.js';
import { hostedPage } from './page.js';

/**
 * The hosted payment page and the actions its script calls. Outside /v1: no API key; each action
 * carries the page secret from the URL's fragment instead, and runs as the session's merchant.
 */

const secret = P.nonEmptyText(200);
const customer = { email: P.nonEmptyText(800), name: P.text(256).optional() };
const summarySchema = z.strictObject({ secret });
const paySchema = z.strictObject({
  secret,
  ...customer,
  card: z.strictObject({ number: P.nonEmptyText(64), exp_month: P.nonEmptyText(4), exp_year: P.nonEmptyText(4), cvc: P.nonEmptyText(8) }),
});
const authenticateSchema = z.strictObject({ secret, ...customer, outcome: P.oneOf(['succeeded', 'failed'] as const) });

/** The page's own policy: nothing but its script and its own API; never framed (clickjacking); no referrer. */
const PAGE_HEADERS = {
  'content-security-policy':
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
  'referrer-policy': 'no-referrer',
  'x-content-type-options': 'nosniff',
  'cache-control': 'no-store',
};

export function checkoutPageRoutes(deps: CheckoutDeps) {
  return async (app: FastifyInstance): Promise<void> => {
    app.get('/c/pay/:id', async (_request, reply) => reply.headers(PAGE_HEADERS).type('text/html; charset=utf-8').send(hostedPage()));

    app.post('/c/pay/:id/summary', async (request, reply) => {
      const params = parseParams(summarySchema, request.body);
      const opened = await openSession(deps, sessionId(request.params), params.secret);
      const session = await withMerchant(opened.merchant_id, async () => {
        const current = isPastExpiry(opened, Math.floor(deps.write.clock.now_ms() / 1000)) ? await expireNow(deps, opened, request.id) : opened;
        return completeIfDone(deps, current, request.id, current.customer_details ?? { email: current.customer_email, name: null });
      });
      return noStore(reply).send(summary(session));
    });

    app.post('/c/pay/:id/pay', async (request, reply) => {
      const params = parseParams(paySchema, request.body);
      const session = await openSession(deps, sessionId(request.params), params.secret);
      const input = { card: params.card, email: params.email, name: params.name ?? null };
      return sendResult(reply, await withMerchant(session.merchant_id, () => pay(deps, session, input, request.id)));
    });

    app.post('/c/pay/:id/authenticate', async (request, reply) => {
      const params = parseParams(authenticateSchema, request.body);
      const session = await openSession(deps, sessionId(request.params), params.secret);
      const details = { email: params.email, name: params.name ?? null };
      const succeeded = params.outcome === 'succeeded';
      return sendResult(reply, await withMerchant(session.merchant_id, () => authenticate(deps, session, succeeded, request.id, details)));
    });
  };
}

function sessionId(params: unknown): string {
  return (params as { id: string }).id;
}

async function expireNow(deps: CheckoutDeps, session: CheckoutSession, request_id: string): Promise<CheckoutSession> {
  await runFor(deps, session.merchant_id, request_id, { reserves: [], run: (ctx) => expireSession(deps, ctx, session.id) }, {}).catch(() => undefined);
  return openSession(deps, session.id, session.page_secret);
}

/** What the page shows: items and total, never the merchant's metadata or the session's other fields. */
function summary(session: CheckoutSession): Record<string, unknown> {
  return {
    status: session.status,
    mode: session.mode,
    currency: session.currency,
    amount_total: session.mode === 'payment' ? amountSubtotal(session) : null,
    line_items: session.line_items.map((item) => ({ name: item.name, quantity: item.quantity, amount: item.unit_amount * item.quantity })),
    customer_email: session.customer_email,
    submit_type: session.submit_type,
    cancel_url: session.cancel_url === null ? null : redirectUrl(session.cancel_url, session.id),
    success_url: session.status === 'complete' ? redirectUrl(session.success_url, session.id) : null,
  };
}

function sendResult(reply: FastifyReply, result: PageResult): FastifyReply {
  if (result.next === 'error') return noStore(reply).code(result.status).send({ error: result.error });
  return noStore(reply).send(result);
}

function noStore(reply: FastifyReply): FastifyReply {
  return reply.header('cache-control', 'no-store');
}
