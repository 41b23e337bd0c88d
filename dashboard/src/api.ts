/**
 * The dashboard's one way to reach Payrail: JSON under /dashboard/api, the session cookie sent by the
 * browser, and the session's CSRF token on every write (the server refuses a write without it).
 */

const API_BASE = '/dashboard/api';

let csrf_token: string | null = null;

/** Set from GET /session or a sign-in answer; cleared on sign-out. */
export function setCsrfToken(token: string | null): void {
  csrf_token = token;
}

/** A Stripe-shaped error answer: the code says what went wrong, the message is for people. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

export type Query = Record<string, string | number | undefined>;

export function withQuery(path: string, query: Query): string {
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query)) {
    if (value !== undefined && value !== '') params.set(key, String(value));
  }
  const text = params.toString();
  return text === '' ? path : `${path}?${text}`;
}

export async function apiGet<T>(path: string, query: Query = {}): Promise<T> {
  return request<T>('GET', withQuery(path, query));
}

/** `extra_headers` carries an action's Idempotency-Key, so a retry after a lost answer acts once. */
export async function apiPost<T>(path: string, body: object = {}, extra_headers: Record<string, string> = {}): Promise<T> {
  return request<T>('POST', path, body, extra_headers);
}

async function request<T>(method: string, path: string, body?: object, extra_headers: Record<string, string> = {}): Promise<T> {
  const headers: Record<string, string> = { ...extra_headers, accept: 'application/json' };
  if (body !== undefined) headers['content-type'] = 'application/json';
  if (method !== 'GET' && csrf_token !== null) headers['x-csrf-token'] = csrf_token;
  const response = await fetch(`${API_BASE}${path}`, {
    method,
    headers,
    credentials: 'same-origin',
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const parsed = (await response.json().catch(() => null)) as unknown;
  if (!response.ok) throw toApiError(response.status, parsed);
  return parsed as T;
}

function toApiError(status: number, body: unknown): ApiError {
  const error = (body as { error?: { code?: string; message?: string } } | null)?.error;
  return new ApiError(status, error?.code ?? 'http_error', error?.message ?? `The server answered ${status}.`);
}

/** A page of a list answer, as every dashboard list endpoint returns it. */
export interface ListPage<T> {
  data: T[];
  has_more: boolean;
  next_cursor?: string | null;
}
