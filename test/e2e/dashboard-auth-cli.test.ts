import { execFile } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureFirstOwner } from '../../src/services/dashboard/index.js';
import type { TestPlatform } from '../support/platform.js';
import { startTestPlatform } from '../support/platform.js';

/** The first dashboard users: test mode's owner@example.com, and `payrail dashboard create-user` from the build. */

let t: TestPlatform;

function cli(args: string[], extra_env: Record<string, string> = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  const env = { ...process.env, DATABASE_URL: t.config.database_url, PAYRAIL_DATA_DIR: t.config.data_dir, LOG_LEVEL: 'warn', ...extra_env };
  return new Promise((resolve) => {
    execFile(process.execPath, ['dist/cli.js', ...args], { env, timeout: 30_000 }, (error, stdout, stderr) => {
      resolve({ code: error ? Number(error.code ?? 1) : 0, stdout, stderr });
    });
  });
}

async function loginStatus(email: string, password: string): Promise<number> {
  const response = await fetch(`${t.url}/dashboard/api/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ email, password }),
  });
  return response.status;
}

beforeAll(async () => {
  t = await startTestPlatform();
}, 60_000);

afterAll(async () => {
  await t?.stop();
});

describe('the first owner', () => {
  it('is made once, when no dashboard user exists, with a password that signs in', async () => {
    const first = await ensureFirstOwner(t.platform.database.pool);
    expect(first?.email).toBe('owner@example.com');
    expect(first?.password).toMatch(/^[\w-]{24}$/);
    await expect(ensureFirstOwner(t.platform.database.pool)).resolves.toBeUndefined();
    expect(await loginStatus('owner@example.com', first?.password ?? '')).toBe(200);
  });
});

describe('payrail dashboard create-user', () => {
  it('prints a generated password once, which signs in', async () => {
    const created = await cli(['dashboard', 'create-user', '--email', 'ops@example.com', '--role', 'admin']);
    expect(created.code).toBe(0);
    expect(created.stdout).toMatch(/^usr_\w{26} {2}ops@example\.com {2}admin {2}acct_\w+\n/);
    const password = /^Password: (\S+)$/m.exec(created.stdout)?.[1] ?? '';
    expect(password).toHaveLength(24);
    expect(await loginStatus('ops@example.com', password)).toBe(200);
  });

  it('takes the password from PAYRAIL_DASHBOARD_PASSWORD without printing it', async () => {
    const password = 'an operator chosen password';
    const created = await cli(['dashboard', 'create-user', '--email', 'env@example.com', '--role', 'analyst'], { PAYRAIL_DASHBOARD_PASSWORD: password });
    expect(created.stderr).toBe('');
    expect(created.code).toBe(0);
    expect(created.stdout).not.toContain(password);
    expect(created.stdout).not.toContain('Password:');
    expect(await loginStatus('env@example.com', password)).toBe(200);
  });

  it('refuses an unknown role, an email already taken, and a merchant that does not exist', async () => {
    const bad_role = await cli(['dashboard', 'create-user', '--email', 'x@example.com', '--role', 'root']);
    expect(bad_role.code).not.toBe(0);
    expect(bad_role.stderr).toContain('--role is one of owner, admin, developer, support, analyst');
    const taken = await cli(['dashboard', 'create-user', '--email', 'OPS@example.com', '--role', 'owner']);
    expect(taken.code).toBe(1);
    expect(taken.stderr).toContain('already exists');
    const no_merchant = await cli(['dashboard', 'create-user', '--email', 'y@example.com', '--role', 'owner', '--merchant', 'acct_NOPE']);
    expect(no_merchant.code).toBe(1);
    expect(no_merchant.stderr).toContain("No such merchant: 'acct_NOPE'");
  });
});

describe('payrail dashboard reset-user', () => {
  async function signIn(email: string, password: string): Promise<{ status: number; code?: string; cookie: string }> {
    const response = await fetch(`${t.url}/dashboard/api/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email, password }),
    });
    const body = (await response.json()) as { error?: { code: string } };
    return { status: response.status, code: body.error?.code, cookie: response.headers.get('set-cookie')?.split(';', 1)[0] ?? '' };
  }

  it('turns off a lost second factor, ends the sessions, and with --password replaces the password once', async () => {
    const password = 'the password before the reset';
    const created = await cli(['dashboard', 'create-user', '--email', 'lost@example.com', '--role', 'developer'], { PAYRAIL_DASHBOARD_PASSWORD: password });
    expect(created.code).toBe(0);
    const before = await signIn('lost@example.com', password);
    expect(before.status).toBe(200);
    // The authenticator is lost: the second factor is on and no code can be given.
    await t.owner.query(`UPDATE dashboard.users SET totp_enabled = true, totp_sealed = '\\x00' WHERE email = 'lost@example.com'`);
    expect(await signIn('lost@example.com', password)).toMatchObject({ status: 401, code: 'dashboard_totp_required' });

    const reset = await cli(['dashboard', 'reset-user', '--email', 'lost@example.com']);
    expect(reset.code, reset.stderr).toBe(0);
    expect(reset.stdout).toContain('second factor off, sessions ended');
    expect(reset.stdout).not.toContain('Password:');
    const session = await fetch(`${t.url}/dashboard/api/session`, { headers: { cookie: before.cookie } });
    expect(session.status).toBe(401);
    expect((await signIn('lost@example.com', password)).status).toBe(200);

    const replaced = await cli(['dashboard', 'reset-user', '--email', 'lost@example.com', '--password']);
    expect(replaced.code, replaced.stderr).toBe(0);
    const new_password = /^Password: (\S+)$/m.exec(replaced.stdout)?.[1] ?? '';
    expect(new_password).toHaveLength(24);
    expect((await signIn('lost@example.com', password)).status).toBe(401);
    expect((await signIn('lost@example.com', new_password)).status).toBe(200);

    const audit = await t.owner.query<{ n: number }>(`SELECT count(*)::int AS n FROM audit.security_events WHERE type = 'dashboard.user_reset'`);
    expect(audit.rows[0]?.n).toBe(2);
    const missing = await cli(['dashboard', 'reset-user', '--email', 'nobody@example.com']);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('No dashboard user has this email.');
  });
});
