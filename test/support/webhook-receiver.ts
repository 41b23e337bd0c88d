import { createServer } from 'node:http';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import Stripe from 'stripe';

/**
 * A local webhook receiver, as a merchant writes one: every request is verified with the official
 * SDK's `stripe.webhooks.constructEvent` against the endpoint's secret. `behave` decides the answer
 * per request (status, or 'hang' to never answer); every request is recorded.
 */

export interface Received {
  event: Stripe.Event;
  raw: string;
  signature: string;
  /** 1 for the first request carrying this event id, 2 for the second, … */
  attempt: number;
  status: number | 'hang';
  at_ms: number;
}

export type Behaviour = (event: Stripe.Event, attempt: number) => number | 'hang';

export interface Receiver {
  url: string;
  /** Verified requests, in arrival order (including the ones answered with an error). */
  received: Received[];
  /** Requests whose signature did not verify (should stay empty). */
  rejected: string[];
  /** Requests being answered right now, and the most ever at once. */
  in_flight: number;
  max_in_flight: number;
  secret: string;
  behave: Behaviour;
  /** Answers every hanging request with 200 and stops hanging. */
  release(): void;
  /** Event ids answered 2xx, in order. */
  delivered(): Stripe.Event[];
  close(): Promise<void>;
}

const verifier = new Stripe('sk_test_unused', { apiVersion: '2023-08-16' });

export async function startReceiver(behave: Behaviour = () => 200): Promise<Receiver> {
  const hanging = new Set<ServerResponse>();
  const counts = new Map<string, number>();
  const receiver: Receiver = {
    url: '',
    received: [],
    rejected: [],
    in_flight: 0,
    max_in_flight: 0,
    secret: '',
    behave,
    release() {
      receiver.behave = () => 200;
      for (const response of hanging) response.writeHead(200).end('{"released":true}');
      hanging.clear();
    },
    delivered() {
      return receiver.received.filter((r) => typeof r.status === 'number' && r.status >= 200 && r.status < 300).map((r) => r.event);
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const response of hanging) response.destroy();
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
  const server = createServer((request: IncomingMessage, response: ServerResponse) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const raw = Buffer.concat(chunks).toString('utf8');
      const signature = String(request.headers['stripe-signature'] ?? '');
      let event: Stripe.Event;
      try {
        event = verifier.webhooks.constructEvent(raw, signature, receiver.secret);
      } catch (error) {
        receiver.rejected.push(`${(error as Error).message}: ${raw.slice(0, 80)}`);
        response.writeHead(400).end('bad signature');
        return;
      }
      const attempt = (counts.get(event.id) ?? 0) + 1;
      counts.set(event.id, attempt);
      const status = receiver.behave(event, attempt);
      receiver.received.push({ event, raw, signature, attempt, status, at_ms: Date.now() });
      receiver.in_flight += 1;
      receiver.max_in_flight = Math.max(receiver.max_in_flight, receiver.in_flight);
      response.on('close', () => {
        receiver.in_flight -= 1;
      });
      if (status === 'hang') {
        hanging.add(response);
        return;
      }
      response.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify({ received: status < 300, attempt }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  receiver.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/webhooks`;
  return receiver;
}

/** Polls `check` until it returns true; fails with `what` after `timeout_ms`. */
export async function waitFor(what: string, check: () => boolean | Promise<boolean>, timeout_ms = 10_000): Promise<void> {
  const deadline = Date.now() + timeout_ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
