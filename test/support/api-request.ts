import { request } from 'node:http';

export interface ApiAnswer<T> {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: T;
}

/**
 * One API request on a connection of its own, for what the SDK does not send (raw form bodies,
 * odd headers). A fresh connection each time: a kept-alive socket the server closes after its idle
 * timeout (while the SDK's first call is slow, say) would otherwise fail the next request.
 */
export function apiRequest<T = Record<string, unknown>>(
  base_url: string,
  secret_key: string,
  path: string,
  options: { form?: string; headers?: Record<string, string> } = {},
): Promise<ApiAnswer<T>> {
  const url = new URL(path, base_url);
  const headers: Record<string, string> = { authorization: `Bearer ${secret_key}`, ...options.headers };
  if (options.form !== undefined) headers['content-type'] = 'application/x-www-form-urlencoded';
  return new Promise((resolve, reject) => {
    const sent = request(url, { method: options.form === undefined ? 'GET' : 'POST', headers, agent: false }, (response) => {
      let text = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => (text += chunk));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, headers: response.headers, body: JSON.parse(text) as T }));
      response.on('error', reject);
    });
    sent.on('error', reject);
    sent.end(options.form);
  });
}
