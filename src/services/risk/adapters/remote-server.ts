import type { FastifyReply, FastifyRequest } from 'fastify';
import type { ZodType } from 'zod';
import { errorBody } from '../../../platform/http/errors.js';
import type { MtlsCredentials } from '../../../platform/http/mtls.js';
import type { MtlsService } from '../../../platform/http/mtls-service.js';
import { invalidBody, listenMtlsService, mtlsServiceApp, withDeadline } from '../../../platform/http/mtls-service.js';
import type { Logger } from '../../../platform/logger.js';
import type { RiskScorer } from '../app/scorer.js';
import { RISK_PATH_PREFIX, recordBodySchema, riskSignalsSchema } from './remote-contract.js';

/**
 * The scorer as its own process: score and record over HTTPS with mutual TLS, on the same helpers as
 * the vault's server. Radar rules stay in the API (they read each merchant's rules from the database);
 * only the model and the velocity windows (Redis, shared with any in-process scorer) live here.
 */
export interface RiskServerOptions {
  /** The scorer in this process (openRiskScorer over Redis). */
  scorer: RiskScorer;
  tls: MtlsCredentials;
  logger: Logger;
  host?: string;
  /** 0 (the default) picks a free port. */
  port?: number;
  /** A call still running after this long answers 503. */
  call_timeout_ms?: number;
  /** Certificate names (CN) that may call, e.g. `['api']`; unset, any certificate from the CA. */
  callers?: readonly string[] | undefined;
}

const DEFAULT_CALL_TIMEOUT_MS = 1_000;
/** One attempt's signals are well under a kilobyte. */
const BODY_LIMIT_BYTES = 16_384;

export async function startRiskServer(options: RiskServerOptions): Promise<MtlsService> {
  const call_timeout_ms = options.call_timeout_ms ?? DEFAULT_CALL_TIMEOUT_MS;
  const app = mtlsServiceApp({ ...options, service: 'risk', call_timeout_ms, body_limit_bytes: BODY_LIMIT_BYTES });
  const { scorer } = options;
  app.post(`${RISK_PATH_PREFIX}score`, (request, reply) =>
    answer(request, reply, 'score', riskSignalsSchema, (signals) => withDeadline('risk', scorer.score(signals), call_timeout_ms)),
  );
  app.post(`${RISK_PATH_PREFIX}record`, (request, reply) =>
    answer(request, reply, 'record', recordBodySchema, async (body) => {
      await withDeadline('risk', scorer.record(body.signals, body.result), call_timeout_ms);
      return { recorded: true };
    }),
  );
  return listenMtlsService(app, options.host, options.port);
}

async function answer<T>(request: FastifyRequest, reply: FastifyReply, operation: string, schema: ZodType<T>, work: (input: T) => Promise<unknown>) {
  const parsed = schema.safeParse(request.body ?? {});
  if (!parsed.success) return reply.code(400).send(errorBody(invalidBody('risk', operation, parsed.error.issues)));
  return reply.send(await work(parsed.data));
}
