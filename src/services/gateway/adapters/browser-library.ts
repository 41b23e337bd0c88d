import { readFileSync } from 'node:fs';
import { dirname, extname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance, FastifyReply } from 'fastify';

/**
 * Payrail.js, the browser library (Stripe.js v3's most used surface), and the frames it opens, served
 * from `browser/v3/` at /js/v3 — the path shape of https://js.stripe.com/v3, so a checkout page
 * changes only its script URL. The files are read once at start-up; nothing is built from a request.
 */

/** The same from src/ (tests) and dist/ (npm start): both sit one level below the package root. */
const LIBRARY_DIR = resolve(dirname(fileURLToPath(import.meta.url)), '../../../../browser/v3');

/** Joined in this order inside one function scope: the script a merchant page loads. */
const LIBRARY_PARTS = ['lib/core.js', 'lib/elements.js', 'lib/next-action.js', 'lib/stripe.js'];

/** The frames and the hosted Checkout page's assets; anything else under /js/v3/ is a 404. */
const ASSETS = [
  'frame-api.js',
  'card-fields.js',
  'controller.html',
  'controller.js',
  'card-frame.html',
  'card-frame.css',
  'card-frame.js',
  'three-d-secure.html',
  'three-d-secure.css',
  'three-d-secure.js',
  'checkout-page.js',
  'checkout.css',
];

const CONTENT_TYPES: Record<string, string> = {
  '.js': 'application/javascript; charset=utf-8',
  '.html': 'text/html; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
};

/**
 * The frames are embedded by merchants' pages on any origin, so they may be framed anywhere; they run
 * only Payrail's own scripts and talk only to Payrail.
 */
const FRAME_POLICY =
  "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'; frame-ancestors *; base-uri 'none'; form-action 'none'";

const CACHE = 'public, max-age=300';

export function registerBrowserLibrary(app: FastifyInstance): void {
  const library = `/* Payrail.js v3 */\n(function () {\n'use strict';\n${LIBRARY_PARTS.map(read).join('\n')}\n})();\n`;
  const assets = new Map(ASSETS.map((name) => [name, read(name)]));
  const sendLibrary = async (_request: unknown, reply: FastifyReply) => asScript(reply).send(library);
  app.get('/js/v3', sendLibrary);
  app.get('/js/v3/', sendLibrary);
  app.get('/js/v3/:file', async (request, reply) => {
    const name = (request.params as { file: string }).file;
    const body = assets.get(name);
    if (body === undefined) return reply.code(404).type('text/plain; charset=utf-8').send('Not found');
    const type = CONTENT_TYPES[extname(name)] ?? 'application/octet-stream';
    if (type.startsWith('text/html')) {
      // The API's own headers forbid framing; these pages exist to be framed.
      reply.raw.removeHeader('x-frame-options');
      reply.header('content-security-policy', FRAME_POLICY);
    }
    return reply.header('cache-control', CACHE).type(type).send(body);
  });
}

function asScript(reply: FastifyReply): FastifyReply {
  return reply
    .header('cache-control', CACHE)
    .header('access-control-allow-origin', '*')
    .header('cross-origin-resource-policy', 'cross-origin')
    .type(CONTENT_TYPES['.js'] ?? '');
}

function read(name: string): string {
  return readFileSync(resolve(LIBRARY_DIR, name), 'utf8');
}
