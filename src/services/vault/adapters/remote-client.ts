import { ExponentialBackoff, handleWhen, retry } from 'cockatiel';
import { PayrailError } from '../../../kernel/errors.js';
import type { MtlsCredentials } from '../../../platform/http/mtls.js';
import { mtlsAgent } from '../../../platform/http/mtls.js';
import { ServiceUnreachable, postJson } from '../../../platform/http/mtls-client.js';
import type { VaultKeyOperation, VaultKeyPort } from '../app/key-port.js';
import { VAULT_KEY_OPERATIONS, VAULT_KEY_OPERATION_NAMES, VAULT_PATH_PREFIX } from '../app/key-port.js';

/**
 * The key port of a vault in another process, over mutual TLS: what an API process uses instead of
 * a keyring, so it never holds a vault key. Every operation is stateless on the vault's side
 * (key-port.ts), so a call that failed to connect, timed out or got a 5xx is retried; when the vault
 * stays unreachable the caller's request answers a retryable 503, before any processor is asked.
 */
export interface RemoteVaultSettings {
  url: string;
  tls: MtlsCredentials;
  /** Each try's limit, connecting included. */
  timeout_ms?: number;
  /** Tries after the first. */
  retries?: number;
  max_sockets?: number;
}

export type RemoteVault = VaultKeyPort & { close(): void };

const DEFAULT_TIMEOUT_MS = 2_000;
const DEFAULT_RETRIES = 2;
const DEFAULT_MAX_SOCKETS = 32;
const MAX_ANSWER_BYTES = 1_048_576;

export const VAULT_UNAVAILABLE_MESSAGE =
  'Payrail cannot reach its card vault right now. Retry the request shortly; requests with the same Idempotency-Key are safe to retry.';

export function remoteVaultBinding(settings: RemoteVaultSettings): RemoteVault {
  const agent = mtlsAgent(settings.tls, settings.max_sockets ?? DEFAULT_MAX_SOCKETS);
  const timeout_ms = settings.timeout_ms ?? DEFAULT_TIMEOUT_MS;
  const policy = retry(
    handleWhen((error) => error instanceof ServiceUnreachable),
    { maxAttempts: settings.retries ?? DEFAULT_RETRIES, backoff: new ExponentialBackoff({ initialDelay: 50, maxDelay: 500 }) },
  );
  const call = async (name: VaultKeyOperation, input: unknown): Promise<unknown> => {
    const url = new URL(`${VAULT_PATH_PREFIX}${name}`, settings.url);
    try {
      const answer = await policy.execute(() => postJson(agent, url, JSON.stringify(input), timeout_ms, MAX_ANSWER_BYTES));
      return answerOf(name, answer);
    } catch (error) {
      if (error instanceof ServiceUnreachable)
        throw Object.assign(new PayrailError('service_unavailable', { message: VAULT_UNAVAILABLE_MESSAGE }), { cause: error });
      throw error;
    }
  };
  const port = Object.fromEntries(VAULT_KEY_OPERATION_NAMES.map((name) => [name, (input: unknown) => call(name, input)])) as VaultKeyPort;
  return { ...port, close: () => agent.destroy() };
}

/** The vault's answer checked against the operation's schema; its refusals become the caller's errors. */
function answerOf(name: VaultKeyOperation, answer: { status: number; body: unknown }): unknown {
  if (answer.status === 200) {
    const parsed = VAULT_KEY_OPERATIONS[name].output.safeParse(answer.body);
    if (!parsed.success) throw new Error(`the vault answered ${name} in an unexpected shape`);
    return parsed.data;
  }
  const error = (answer.body as { error?: { code?: string; param?: string; message?: string } } | null)?.error;
  if (answer.status === 404 && error?.code === 'resource_missing') throw new PayrailError('resource_missing', { param: error.param, message: error.message });
  // Any other refusal means this process and the vault disagree on the port: a bug, logged by the caller.
  throw new Error(`the vault refused ${name}: ${answer.status} ${error?.code ?? ''}`);
}
