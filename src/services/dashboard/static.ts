import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import fastifyStatic from '@fastify/static';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { PayrailError } from '../../kernel/errors.js';
import { errorBody } from '../../platform/http/errors.js';

/**
 * The dashboard's web app (dashboard/, built by `npm run build` into dist/dashboard) at /dashboard.
 * Any path under /dashboard that is not a built asset or the JSON API answers index.html, so the app's
 * own router shows deep links (/dashboard/payments/pi_…) after a reload.
 */

/** The same from src/ (tests) and dist/ (npm start): both sit three levels below the package root. */
const BUILT_APP = resolve(dirname(fileURLToPath(import.meta.url)), '../../../dist/dashboard');

/**
 * Only the app's own bundled scripts run (no inline script, no eval); Mantine sets inline styles, so
 * styles alone allow 'unsafe-inline'. The app talks only to its own origin and is never framed.
 */
const CONTENT_SECURITY_POLICY = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data:",
  "font-src 'self'",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

/** Vite names assets by their content hash, so a name never changes meaning: cache for a year. */
const ASSET_MAX_AGE_MS = 365 * 24 * 3600 * 1000;

const NOT_BUILT = new PayrailError('service_unavailable', {
  message: 'The dashboard has not been built. Run `npm run build` (npm start does it) and reload.',
});

export interface DashboardStaticOptions {
  /** Where the built app is; dist/dashboard by default. */
  root?: string;
}

export function dashboardStatic(options: DashboardStaticOptions = {}): (app: FastifyInstance) => Promise<void> {
  const root = options.root ?? BUILT_APP;
  return async (app) => {
    await app.register(fastifyStatic, { root, serve: false });
    const serve = (request: FastifyRequest, reply: FastifyReply) => serveDashboard(root, request, reply);
    app.get('/dashboard', serve);
    app.get('/dashboard/*', serve);
  };
}

async function serveDashboard(root: string, request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> {
  const path = request.url.split('?', 1)[0] ?? '';
  // The JSON API's routes are registered by their own plugins; an unknown one is an unknown URL, not the app.
  if (path.startsWith('/dashboard/api/') || path === '/dashboard/api') {
    reply.callNotFound();
    return reply;
  }
  if (!existsSync(join(root, 'index.html'))) return reply.code(NOT_BUILT.status).send(errorBody(NOT_BUILT));
  reply.header('content-security-policy', CONTENT_SECURITY_POLICY);
  if (path.startsWith('/dashboard/assets/')) {
    return reply.sendFile(path.slice('/dashboard/'.length), { maxAge: ASSET_MAX_AGE_MS, immutable: true });
  }
  // The page itself is re-checked on every load, so a new build's asset names are picked up at once.
  reply.header('cache-control', 'no-cache');
  return reply.sendFile('index.html', { cacheControl: false });
}
