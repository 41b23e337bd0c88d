import { request } from 'node:https';
import type { Agent } from 'node:https';

/**
 * The client side of an internal service over mutual TLS (the vault, risk): one JSON POST through an
 * mtlsAgent (mtls.ts), limited in time and answer size. No answer, or the service's own 5xx, rejects
 * with ServiceUnreachable — a try that may succeed if made again; any other status is the caller's to read.
 */
export class ServiceUnreachable extends Error {
  override name = 'ServiceUnreachable';
}

export interface ServiceAnswer {
  status: number;
  body: unknown;
}

export function postJson(agent: Agent, url: URL, body: string, timeout_ms: number, max_answer_bytes: number): Promise<ServiceAnswer> {
  return new Promise((resolve, reject) => {
    const fail = (error: Error) => reject(new ServiceUnreachable(`${url.pathname}: ${error.message}`, { cause: error }));
    const req = request(url, {
      agent,
      method: 'POST',
      headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
      signal: AbortSignal.timeout(timeout_ms),
    });
    req.on('error', fail);
    req.on('response', (res) => {
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (size > max_answer_bytes) req.destroy(new Error('answer too large'));
        else chunks.push(chunk);
      });
      res.on('error', fail);
      res.on('end', () => {
        const status = res.statusCode ?? 0;
        if (status >= 500) return fail(new Error(`answered ${status}`));
        try {
          resolve({ status, body: JSON.parse(Buffer.concat(chunks).toString('utf8')) as unknown });
        } catch (error) {
          fail(error as Error);
        }
      });
    });
    req.end(body);
  });
}
