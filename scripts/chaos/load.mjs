import { createServer } from 'node:http';
import Stripe from 'stripe';

/**
 * The chaos suite's client side: payments through the official SDK (retries on, one Idempotency-Key
 * per payment), and a webhook receiver that verifies signatures and applies each event once.
 */

const SDK_RETRIES = 8;
const SDK_TIMEOUT_MS = 15_000;
const THINK_MS = 20;

export function chaosClient(api_url, secret_key) {
  const url = new URL(api_url);
  const stripe = new Stripe(secret_key, {
    apiVersion: '2023-08-16',
    host: url.hostname,
    port: Number(url.port),
    protocol: 'http',
    maxNetworkRetries: SDK_RETRIES,
    timeout: SDK_TIMEOUT_MS,
  });
  // Every HTTP answer the SDK saw, retries included: the error rate the client experienced per attempt.
  const responses = [];
  stripe.on('response', (response) => responses.push({ at_ms: Date.now(), status: response.status }));
  return { stripe, responses };
}

/**
 * `workers` loops each creating and confirming one payment at a time until `stop()` says so. Every
 * payment records when it started and ended, its key, and whether it was acknowledged (succeeded).
 */
export function driveLoad(stripe, { seed, workers, stop }) {
  const payments = [];
  let next = 0;
  const worker = async () => {
    while (!stop()) {
      const key = `chaos-${seed}-${Date.now().toString(36)}-${next++}`;
      const record = { key, started_ms: Date.now(), ended_ms: 0, id: undefined, status: undefined, error: undefined };
      payments.push(record);
      try {
        const intent = await stripe.paymentIntents.create(
          { amount: 1_000 + (next % 500), currency: 'usd', payment_method: 'pm_card_visa', confirm: true, metadata: { chaos_key: key } },
          { idempotencyKey: key },
        );
        record.id = intent.id;
        record.status = intent.status;
      } catch (error) {
        record.error = error?.code ?? error?.type ?? String(error);
      }
      record.ended_ms = Date.now();
      await new Promise((resolve) => setTimeout(resolve, THINK_MS));
    }
  };
  const done = Promise.all(Array.from({ length: workers }, worker));
  return { payments, done };
}

/** An HTTP server that checks each delivery's signature and applies an event the first time its id arrives. */
export async function webhookReceiver() {
  const verifier = new Stripe('sk_test_unused', { apiVersion: '2023-08-16' });
  const deliveries = new Map(); // event id → deliveries received
  const applied = []; // event ids, in the order first applied
  let secret;
  let bad_signatures = 0;
  const server = createServer((request, response) => {
    const chunks = [];
    request.on('data', (chunk) => chunks.push(chunk));
    request.on('end', () => {
      let event;
      try {
        event = verifier.webhooks.constructEvent(Buffer.concat(chunks).toString('utf8'), request.headers['stripe-signature'] ?? '', secret ?? '');
      } catch {
        bad_signatures++;
        response.writeHead(400).end();
        return;
      }
      const seen = deliveries.get(event.id) ?? 0;
      deliveries.set(event.id, seen + 1);
      if (seen === 0) applied.push(event.id);
      response.writeHead(200).end();
    });
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${server.address().port}/hooks`,
    setSecret: (value) => (secret = value),
    deliveries,
    applied,
    badSignatures: () => bad_signatures,
    close: () => new Promise((resolve) => server.close(resolve)),
  };
}
