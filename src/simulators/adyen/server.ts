/**
 * A local simulator of Adyen's Checkout API v71, following Adyen's published API reference (a real
 * Adyen cannot be reached here): POST /v71/payments, /payments/details, /payments/{pspReference}/
 * captures|refunds|cancels and /cancels; X-API-Key authentication; the Idempotency-Key header (the
 * first answer is replayed, a key still being processed answers 422 errorCode 704); Adyen's error
 * bodies; and signed standard notifications (notifier.ts). Faults are injected per run or per test
 * (faults.ts). Control endpoints under /_simulator (same API key) set faults, raise chargebacks and
 * read payments. Everything is in memory, for one run.
 */
import { timingSafeEqual, createHash } from 'node:crypto';
import type { Socket } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import Fastify from 'fastify';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Answer, SimPayment } from './book.js';
import { AdyenBook, serviceError } from './book.js';
import { validatePayment } from './decisions.js';
import type { Endpoint, FaultSettings } from './faults.js';
import { FaultPlan, faultSettingsSchema } from './faults.js';
import { DEFAULT_RETRY_MS, Notifier } from './notifier.js';

export interface AdyenSimulatorOptions {
  api_key: string;
  /** The HMAC key notifications are signed with, in hex. */
  hmac_key_hex: string;
  merchant_accounts: readonly string[];
  /** Where notifications are POSTed; null sends none (settable later with `notifyTo`). */
  notification_url?: string | null;
  notification_retry_ms?: readonly number[];
  host?: string;
  port?: number;
  /** Seed of the fault rates' generator. */
  seed?: number;
  /** How long an answer held by a `timeout_after` fault keeps its connection before dropping it. */
  hold_ms?: number;
}

export interface AdyenSimulator {
  url: string;
  faults: FaultPlan;
  book: AdyenBook;
  notifier: Notifier;
  /** Payments created under a reference; idempotent replays add none. */
  authorizationCount(reference: string): number;
  notifyTo(url: string | null): void;
  close(): Promise<void>;
}

const BODY_LIMIT_BYTES = 64 * 1024;
const IDEMPOTENCY_KEY_MAX = 64;
const IDEMPOTENCY_KEYS_MAX = 1_000_000;
/** Payments one run keeps; past it /payments answers 500, as an overloaded processor would. */
const PAYMENTS_MAX = 1_000_000;
const DEFAULT_HOLD_MS = 120_000;

type Stored = { state: 'processing' } | { state: 'done'; answer: Answer };

function sameKey(expected: string, given: unknown): boolean {
  if (typeof given !== 'string') return false;
  const digest = (text: string) => createHash('sha256').update(text).digest();
  return timingSafeEqual(digest(expected), digest(given));
}

function amountOf(body: unknown): { value: number; currency: string } | null {
  const amount = (body as { amount?: { value?: unknown; currency?: unknown } } | null)?.amount;
  return amount && Number.isInteger(amount.value) && typeof amount.currency === 'string' ? { value: amount.value as number, currency: amount.currency } : null;
}

function field(body: unknown, name: string): string | undefined {
  const value = (body as Record<string, unknown> | null)?.[name];
  return typeof value === 'string' ? value : undefined;
}

export async function startAdyenSimulator(options: AdyenSimulatorOptions): Promise<AdyenSimulator> {
  const faults = new FaultPlan(options.seed);
  const notifier = new Notifier({
    url: options.notification_url ?? null,
    hmac_key_hex: options.hmac_key_hex,
    retry_ms: options.notification_retry_ms ?? DEFAULT_RETRY_MS,
    plan: faults,
  });
  const book = new AdyenBook(notifier);
  const merchant_accounts = new Set(options.merchant_accounts);
  const idempotency = new Map<string, Stored>();
  const held = new Set<Socket>();
  const hold_ms = options.hold_ms ?? DEFAULT_HOLD_MS;
  const app: FastifyInstance = Fastify({ bodyLimit: BODY_LIMIT_BYTES });

  app.setErrorHandler((error: { statusCode?: number; message: string }, _request, reply) => {
    const status = error.statusCode !== undefined && error.statusCode < 500 ? error.statusCode : 500;
    const answer =
      status === 500 ? serviceError(500, '000', 'Internal error', 'internal') : serviceError(status, '702', `Unexpected input: ${error.message}`, 'validation');
    void reply.status(answer.status).send(answer.body);
  });
  app.setNotFoundHandler((_request, reply) => void reply.status(404).send(serviceError(404, '000', 'Not Found', 'validation').body));
  app.addHook('onRequest', async (request, reply) => {
    if (!sameKey(options.api_key, request.headers['x-api-key'])) {
      await reply.status(401).send(serviceError(401, '000', 'HTTP Status Response - Unauthorized', 'security').body);
    }
  });

  function hold(reply: FastifyReply): void {
    reply.hijack();
    const socket = reply.raw.socket;
    if (!socket) return;
    held.add(socket);
    const timer = setTimeout(() => socket.destroy(), hold_ms);
    timer.unref();
    socket.once('close', () => {
      clearTimeout(timer);
      held.delete(socket);
    });
  }

  /** One API call: faults before, the idempotent work, faults after. */
  async function handle(endpoint: Endpoint, request: FastifyRequest, reply: FastifyReply, work: () => Answer): Promise<void> {
    const fault = faults.take(endpoint);
    if (fault?.kind === 'drop_before') return void request.raw.socket.destroy();
    if (fault?.kind === 'error_before') return void reply.status(fault.status).send(serviceError(fault.status, '000', 'Internal error', 'internal').body);
    const key = request.headers['idempotency-key'];
    if (typeof key === 'string' && key.length > IDEMPOTENCY_KEY_MAX) {
      return void reply.status(422).send(serviceError(422, '000', 'Idempotency key is longer than 64 characters', 'validation').body);
    }
    const stored = typeof key === 'string' ? idempotency.get(key) : undefined;
    if (stored?.state === 'processing')
      return void reply.status(422).send(serviceError(422, '704', 'request already processed or in progress', 'validation').body);
    if (typeof key === 'string' && stored === undefined) {
      if (idempotency.size >= IDEMPOTENCY_KEYS_MAX) return void reply.status(500).send(serviceError(500, '000', 'Internal error', 'internal').body);
      idempotency.set(key, { state: 'processing' });
    }
    if (faults.latency_ms > 0) await sleep(faults.latency_ms);
    const answer = stored?.state === 'done' ? stored.answer : work();
    if (typeof key === 'string') {
      // A 5xx of its own is transient: the key stays free for a retry, as Adyen documents.
      if (answer.status >= 500) idempotency.delete(key);
      else idempotency.set(key, { state: 'done', answer });
      void reply.header('idempotency-key', key);
    }
    if (fault?.kind === 'timeout_after') return hold(reply);
    if (fault?.kind === 'drop_after') return void request.raw.socket.destroy();
    if (fault?.kind === 'error_after') return void reply.status(fault.status).send(serviceError(fault.status, '000', 'Internal error', 'internal').body);
    await reply.status(answer.status).send(answer.body);
  }

  /** The payment a modification names, for this merchant account, or Adyen's error. */
  function target(psp: string, body: unknown): SimPayment | Answer {
    const merchant_account = field(body, 'merchantAccount');
    if (merchant_account === undefined || !merchant_accounts.has(merchant_account)) return serviceError(403, '901', 'Invalid Merchant Account', 'security');
    const payment = book.payments.get(psp);
    if (!payment || payment.merchantAccount !== merchant_account)
      return serviceError(422, '167', 'Original pspReference required for this operation', 'validation');
    return payment;
  }

  const isAnswer = (value: SimPayment | Answer): value is Answer => 'body' in value;

  app.post('/v71/payments', (request, reply) =>
    handle('payments', request, reply, () => {
      if (book.payments.size >= PAYMENTS_MAX) return serviceError(500, '000', 'Internal error', 'internal');
      const valid = validatePayment(request.body, merchant_accounts);
      if (!valid.ok) {
        const { failure } = valid;
        return serviceError(failure.status, failure.errorCode, failure.message, failure.errorType, book.nextPspReference());
      }
      return book.createPayment(valid.request);
    }),
  );
  app.post('/v71/payments/details', (request, reply) => handle('details', request, reply, () => book.details(request.body)));
  for (const [path, endpoint] of [
    ['captures', 'captures'],
    ['refunds', 'refunds'],
    ['cancels', 'cancels'],
  ] as const) {
    app.post<{ Params: { psp: string } }>(`/v71/payments/:psp/${path}`, (request, reply) =>
      handle(endpoint, request, reply, () => {
        const payment = target(request.params.psp, request.body);
        if (isAnswer(payment)) return payment;
        const reference = field(request.body, 'reference');
        if (endpoint === 'cancels') return book.cancel(payment, reference);
        const amount = amountOf(request.body);
        if (!amount) return serviceError(422, '100', "Required object 'amount' is not provided.", 'validation');
        return endpoint === 'captures' ? book.capture(payment, amount, reference) : book.refund(payment, amount, reference);
      }),
    );
  }
  app.post('/v71/cancels', (request, reply) =>
    handle('technical_cancels', request, reply, () => {
      const merchant_account = field(request.body, 'merchantAccount');
      if (merchant_account === undefined || !merchant_accounts.has(merchant_account)) return serviceError(403, '901', 'Invalid Merchant Account', 'security');
      const payment_reference = field(request.body, 'paymentReference');
      if (payment_reference === undefined) return serviceError(422, '000', "Required field 'paymentReference' is not provided.", 'validation');
      return book.technicalCancel(merchant_account, payment_reference, field(request.body, 'reference'));
    }),
  );

  app.post('/_simulator/faults', async (request, reply) => {
    const parsed = faultSettingsSchema.safeParse(request.body);
    if (!parsed.success) return reply.status(422).send(serviceError(422, '000', parsed.error.issues[0]?.message ?? 'invalid faults', 'validation').body);
    faults.set(request.body as FaultSettings);
    return { ok: true };
  });
  app.delete('/_simulator/faults', async () => {
    faults.clear();
    return { ok: true };
  });
  app.get<{ Params: { reference: string } }>('/_simulator/references/:reference', async (request) => ({
    authorizations: book.authorizationCount(request.params.reference),
    payments: [...book.payments.values()]
      .filter((payment) => payment.reference === request.params.reference)
      .map(({ decision: _decision, ...payment }) => payment),
  }));
  app.post<{ Params: { psp: string }; Body: { event?: string; reason_code?: string } }>('/_simulator/payments/:psp/chargeback', async (request, reply) => {
    const payment = book.payments.get(request.params.psp);
    const event = request.body?.event ?? 'CHARGEBACK';
    if (!payment || payment.captured === 0)
      return reply.status(422).send(serviceError(422, '167', 'No captured payment with this pspReference', 'validation').body);
    if (event !== 'CHARGEBACK' && event !== 'NOTIFICATION_OF_CHARGEBACK' && event !== 'REQUEST_FOR_INFORMATION') {
      return reply
        .status(422)
        .send(serviceError(422, '000', 'event must be CHARGEBACK, NOTIFICATION_OF_CHARGEBACK or REQUEST_FOR_INFORMATION', 'validation').body);
    }
    book.chargeback(payment, event, request.body?.reason_code ?? '10.4');
    return { ok: true };
  });

  const address = await app.listen({ host: options.host ?? '127.0.0.1', port: options.port ?? 0 });
  return {
    url: address,
    faults,
    book,
    notifier,
    authorizationCount: (reference) => book.authorizationCount(reference),
    notifyTo: (url) => notifier.setUrl(url),
    async close() {
      notifier.close();
      for (const socket of held) socket.destroy();
      await app.close();
    },
  };
}
