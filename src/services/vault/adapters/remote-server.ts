import type { FastifyReply, FastifyRequest } from 'fastify';
import type { TLSSocket } from 'node:tls';
import { errorBody } from '../../../platform/http/errors.js';
import type { MtlsCredentials } from '../../../platform/http/mtls.js';
import { peerName } from '../../../platform/http/mtls.js';
import { invalidBody, listenMtlsService, mtlsServiceApp, withDeadline } from '../../../platform/http/mtls-service.js';
import type { Logger } from '../../../platform/logger.js';
import { withMerchant } from '../../../platform/merchant-scope.js';
import type { VaultKeyOperation, VaultKeyPort } from '../app/key-port.js';
import { VAULT_KEY_OPERATIONS, VAULT_KEY_OPERATION_NAMES, VAULT_PATH_PREFIX } from '../app/key-port.js';

/**
 * The vault as its own process: the key port (key-port.ts) over HTTPS with mutual TLS. Only callers
 * with a certificate from the deployment's CA get past the handshake; each body is checked against
 * the operation's schema; each call has a deadline; every opened card is logged with who asked.
 */
export interface VaultServerOptions {
  /** The key port in this process (localVaultKeys over the vault role's pool). */
  keys: VaultKeyPort;
  tls: MtlsCredentials;
  logger: Logger;
  host?: string;
  /** 0 (the default) picks a free port; the answer's `url` names it. */
  port?: number;
  /** A call still running after this long answers 503 (the client's own timeout is shorter or equal). */
  call_timeout_ms?: number;
  /**
   * The certificate names (CN) that may call, e.g. `['api', 'scheduler']`: a certificate the CA signed
   * for another role is answered 403. Unset, any certificate from the CA may call.
   */
  callers?: readonly string[];
}

export interface VaultServer {
  url: string;
  close(): Promise<void>;
}

const DEFAULT_CALL_TIMEOUT_MS = 5_000;
/** One card or one rotation batch of sealed secrets fits with room to spare. */
const BODY_LIMIT_BYTES = 1_048_576;

export async function startVaultServer(options: VaultServerOptions): Promise<VaultServer> {
  const call_timeout_ms = options.call_timeout_ms ?? DEFAULT_CALL_TIMEOUT_MS;
  const app = mtlsServiceApp({ ...options, service: 'vault', call_timeout_ms, body_limit_bytes: BODY_LIMIT_BYTES });
  for (const name of VAULT_KEY_OPERATION_NAMES) {
    app.post(`${VAULT_PATH_PREFIX}${name}`, (request, reply) => handle(options, call_timeout_ms, name, request, reply));
  }
  return listenMtlsService(app, options.host, options.port);
}

async function handle(options: VaultServerOptions, call_timeout_ms: number, name: VaultKeyOperation, request: FastifyRequest, reply: FastifyReply) {
  const parsed = VAULT_KEY_OPERATIONS[name].input.safeParse(request.body ?? {});
  if (!parsed.success) {
    // The path names the field; the message never repeats a value (it may be a card number).
    return reply.code(400).send(errorBody(invalidBody('vault', name, parsed.error.issues)));
  }
  const input = parsed.data;
  const merchant_id = 'merchant_id' in input ? input.merchant_id : undefined;
  const work = () => (options.keys[name] as (input: unknown) => Promise<unknown>)(input);
  const output = await withDeadline('vault', merchant_id === undefined ? work() : withMerchant(merchant_id, work), call_timeout_ms);
  if (name === 'open_card' && 'reference_id' in input) {
    const caller = peerName(request.raw.socket as TLSSocket);
    options.logger.info({ merchant_id, payment_method_id: input.payment_method_id, reference_id: input.reference_id, caller }, 'vault: card opened');
  }
  return reply.send(output);
}
