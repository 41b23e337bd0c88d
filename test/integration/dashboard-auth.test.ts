import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DASHBOARD_PERMISSIONS, ROLE_PERMISSIONS, createDashboardUser } from '../../src/services/dashboard/index.js';
import { hashPassword, verifyPassword } from '../../src/services/dashboard/auth/passwords.js';
import { acceptInvite, invite } from '../../src/services/dashboard/auth/invites.js';
import { UlidGenerator } from '../../src/kernel/ids.js';
import { SESSION_ABSOLUTE_MS, SESSION_IDLE_MS, resumeSession, startSession, tokenHash } from '../../src/services/dashboard/auth/sessions.js';
import type { DashboardUser } from '../../src/services/dashboard/index.js';
import type { MigratedDatabase } from '../support/database.js';
import { createMigratedPool } from '../support/database.js';

/** The pieces of dashboard sign-in below HTTP: password hashes, session expiry on an injected clock, and the role table. */

const MERCHANT = 'acct_DASHBOARDAUTHTEST0000000001';
const START_MS = 1_800_000_000_000;
let db: MigratedDatabase;
let user: DashboardUser;

beforeAll(async () => {
  db = await createMigratedPool(4);
  await db.pool.query('INSERT INTO merchants.merchants (id, name, created) VALUES ($1, $2, $3)', [MERCHANT, 'Dashboard auth', START_MS / 1000]);
  user = await createDashboardUser(db.pool, { merchant_id: MERCHANT, email: 'sessions@example.com', password: 'a long password', role: 'support' });
}, 60_000);

afterAll(async () => {
  await db?.drop();
});

describe('passwords', () => {
  it('verifies the password a hash was made from, and no other', async () => {
    const stored = await hashPassword('hunter2 hunter2');
    expect(stored).toMatch(/^scrypt\$32768\$8\$1\$[\w-]{22}\$[\w-]{43}$/);
    expect(stored).not.toContain('hunter2');
    await expect(verifyPassword('hunter2 hunter2', stored)).resolves.toBe(true);
    await expect(verifyPassword('hunter2 hunter3', stored)).resolves.toBe(false);
    await expect(verifyPassword('hunter2 hunter2', 'not-a-hash')).resolves.toBe(false);
  });

  it('salts each hash: one password hashed twice gives two hashes', async () => {
    expect(await hashPassword('same password')).not.toBe(await hashPassword('same password'));
  });

  it('stores the created user’s password hashed, and refuses a second user with the same email in any case', async () => {
    const row = await db.pool.query<{ password_hash: string }>('SELECT password_hash FROM dashboard.users WHERE id = $1', [user.id]);
    await expect(verifyPassword('a long password', row.rows[0]?.password_hash ?? '')).resolves.toBe(true);
    await expect(createDashboardUser(db.pool, { merchant_id: MERCHANT, email: 'SESSIONS@example.com', role: 'owner' })).rejects.toMatchObject({
      code: 'resource_already_exists',
    });
  });
});

describe('sessions', () => {
  it('stores only the token’s hash', async () => {
    const { token } = await startSession(db.pool, user, START_MS);
    const rows = await db.pool.query<{ token_hash: string }>('SELECT token_hash FROM dashboard.sessions WHERE user_id = $1', [user.id]);
    expect(rows.rows.map((row) => row.token_hash)).toContain(tokenHash(token));
    expect(JSON.stringify(rows.rows)).not.toContain(token);
  });

  it('ends a session unused for 12 hours', async () => {
    const { token, csrf_token } = await startSession(db.pool, user, START_MS);
    await expect(resumeSession(db.pool, token, START_MS + SESSION_IDLE_MS)).resolves.toMatchObject({ csrf_token, user: { id: user.id, role: 'support' } });
    // Used at the 12-hour mark: the idle clock restarts there.
    await expect(resumeSession(db.pool, token, START_MS + 2 * SESSION_IDLE_MS)).resolves.toBeDefined();
    await expect(resumeSession(db.pool, token, START_MS + 3 * SESSION_IDLE_MS + 1)).resolves.toBeUndefined();
    const left = await db.pool.query('SELECT 1 FROM dashboard.sessions WHERE token_hash = $1', [tokenHash(token)]);
    expect(left.rowCount).toBe(0);
  });

  it('ends a session 7 days after sign-in however often it is used', async () => {
    const { token } = await startSession(db.pool, user, START_MS);
    let now = START_MS;
    while (now + SESSION_IDLE_MS / 2 <= START_MS + SESSION_ABSOLUTE_MS) {
      now += SESSION_IDLE_MS / 2;
      await expect(resumeSession(db.pool, token, now)).resolves.toBeDefined();
    }
    await expect(resumeSession(db.pool, token, START_MS + SESSION_ABSOLUTE_MS + 1)).resolves.toBeUndefined();
  });

  it('loads only what a session needs: no password hash, no sealed TOTP secret', async () => {
    const { token } = await startSession(db.pool, user, START_MS);
    const session = await resumeSession(db.pool, token, START_MS);
    expect(Object.keys(session?.user ?? {}).sort()).toEqual(['email', 'id', 'merchant_id', 'role', 'totp_enabled']);
  });

  it('knows no unknown token', async () => {
    await expect(resumeSession(db.pool, 'not-a-token', START_MS)).resolves.toBeUndefined();
  });
});

describe('invites', () => {
  it('leaves the invite unspent when setting the password fails, so it can be accepted after', async () => {
    const { user: invited, token } = await invite(
      db.pool,
      user,
      { email: 'invited@example.com', role: 'developer' },
      { ids: new UlidGenerator(), now_ms: START_MS },
    );
    // A password write the database refuses, as a lost connection or a constraint would.
    await db.pool.query(`CREATE FUNCTION dashboard.refuse_password() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'refused'; END $$`);
    await db.pool.query(
      'CREATE TRIGGER refuse_password BEFORE UPDATE OF password_hash ON dashboard.users FOR EACH ROW EXECUTE FUNCTION dashboard.refuse_password()',
    );
    await expect(acceptInvite(db.pool, token, await hashPassword('an invitee password'), START_MS)).rejects.toThrow('refused');
    await db.pool.query('DROP TRIGGER refuse_password ON dashboard.users');
    await db.pool.query('DROP FUNCTION dashboard.refuse_password()');

    const unspent = await db.pool.query('SELECT accepted_ms FROM dashboard.invites WHERE user_id = $1', [invited.id]);
    expect(unspent.rows).toEqual([{ accepted_ms: null }]);
    await expect(acceptInvite(db.pool, token, await hashPassword('an invitee password'), START_MS)).resolves.toMatchObject({ id: invited.id });
  });
});

describe('roles', () => {
  it('grants each role exactly the permissions of docs/dashboard.md', () => {
    expect(ROLE_PERMISSIONS).toEqual({
      owner: DASHBOARD_PERMISSIONS,
      admin: DASHBOARD_PERMISSIONS,
      developer: ['payments.read', 'balances.read', 'customers.read', 'developers.read', 'developers.write'],
      support: ['payments.read', 'payments.write', 'customers.read'],
      analyst: ['payments.read', 'balances.read', 'customers.read', 'developers.read', 'audit.read'],
    });
    expect(DASHBOARD_PERMISSIONS).toEqual([
      'payments.read',
      'payments.write',
      'balances.read',
      'customers.read',
      'developers.read',
      'developers.write',
      'users.manage',
      'audit.read',
    ]);
  });

  it('leaves the analyst no write permission at all', () => {
    expect(ROLE_PERMISSIONS.analyst.filter((permission) => permission.endsWith('.write') || permission === 'users.manage')).toEqual([]);
  });
});
