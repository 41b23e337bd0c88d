import type { FastifyInstance } from 'fastify';
import qs from 'qs';
import { PayrailError } from '../../../kernel/errors.js';
import { MAX_JSON_NESTING, decodeFormPart, decodeQueryPart, nestsDeeperThan, plainData } from './body-shape.js';

/** Request bodies and query strings, parsed as Stripe's clients send them: JSON, or forms with bracket notation. */

const QS_OPTIONS = { depth: 5, arrayLimit: 100, parameterLimit: 1000, strictDepth: true, plainObjects: true, decoder: decodeFormPart } as const;
/**
 * The router parses query strings before any hook or error handler, so a throw there (strictDepth)
 * would be an uncaught exception that kills the process. Deeper keys stay literal and fail validation.
 */
const QUERY_OPTIONS = { depth: 5, arrayLimit: 100, parameterLimit: 1000, strictDepth: false, plainObjects: true, decoder: decodeQueryPart } as const;

/** The router's query-string parser (`routerOptions.querystringParser`): `constructor` or `__proto__` are refused like any unknown parameter, never dropped. */
export function parseQueryString(query: string): Record<string, unknown> {
  return plainData(qs.parse(query, QUERY_OPTIONS)) as Record<string, unknown>;
}

const TOO_DEEP = `The request body nests more than ${MAX_JSON_NESTING} levels; no parameter is that deep.`;

/** Only the two body formats Stripe clients send; anything else (text/plain included) is a 415. */
export function registerBodyParsers(app: FastifyInstance): void {
  // Compressed bodies would reach the parsers as bytes: refused before they are read.
  app.addHook('preParsing', async (request) => {
    const encoding = request.headers['content-encoding']?.trim().toLowerCase();
    if (encoding && encoding !== 'identity') {
      throw new PayrailError('content_type_unsupported', { message: 'Send the request body uncompressed: Content-Encoding is not supported.' });
    }
  });
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (_request, body, done) => {
    if (body === '') return done(null, {});
    if (nestsDeeperThan(body as string, MAX_JSON_NESTING)) return done(new PayrailError('body_invalid', { message: TOO_DEEP }), undefined);
    let parsed: unknown;
    try {
      parsed = JSON.parse(body as string);
    } catch {
      return done(new PayrailError('body_invalid', { message: 'Invalid JSON in the request body.' }), undefined);
    }
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
      return done(new PayrailError('body_invalid', { message: 'The JSON request body must be an object.' }), undefined);
    }
    done(null, parsed);
  });
  app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string' }, (_request, body, done) => {
    let parsed: unknown;
    try {
      parsed = plainData(qs.parse(body as string, QS_OPTIONS));
    } catch (error) {
      const known = error instanceof PayrailError ? error : undefined;
      return done(
        known ?? new PayrailError('body_invalid', { message: 'The form-encoded body could not be parsed (nested too deeply, or too many values).' }),
        undefined,
      );
    }
    done(null, parsed);
  });
}
