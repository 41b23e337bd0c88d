import { expect } from 'vitest';

/** A dashboard session as a test holds it: the session cookie to send back, and the CSRF token writes need. */
export interface DashboardSession {
  cookie: string;
  csrf_token: string;
}

/** Signs in through the dashboard's own login route, as the web app does; any answer but 200 fails the test. */
export async function signInToDashboard(base_url: string, email: string, password: string): Promise<DashboardSession> {
  const response = await fetch(`${base_url}/dashboard/api/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ email, password }),
  });
  expect(response.status, `sign-in of ${email}`).toBe(200);
  const body = (await response.json()) as { csrf_token: string };
  return { cookie: (response.headers.get('set-cookie') ?? '').split(';')[0] ?? '', csrf_token: body.csrf_token };
}
