import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { assertLeastPrivilege, scramVerifier } from '../../src/platform/roles.js';
import type { TestDatabase } from '../support/database.js';
import { createTestDatabase } from '../support/database.js';

/**
 * The start-up check that the pools' roles hold nothing more than they need. Roles are cluster-wide
 * and other test files use Payrail's own, so the check is run here on throwaway roles of this file.
 */

let database: TestDatabase;
let admin: pg.Client;
const suffix = randomBytes(4).toString('hex');
const LEAN = `payrail_t_lean_${suffix}`;
const RICH = `payrail_t_rich_${suffix}`;
const OWNER = `payrail_t_owner_${suffix}`;

beforeAll(async () => {
  database = await createTestDatabase();
  admin = new pg.Client({ connectionString: database.url });
  await admin.connect();
  await admin.query(`CREATE ROLE ${LEAN} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOINHERIT NOREPLICATION NOBYPASSRLS`);
  await admin.query(`CREATE ROLE ${RICH} LOGIN CREATEDB BYPASSRLS`);
  await admin.query(`GRANT pg_execute_server_program TO ${RICH}`);
  await admin.query(`CREATE ROLE ${OWNER} LOGIN`);
  await admin.query(`CREATE TABLE public.owned_${suffix} (a int)`);
  await admin.query(`ALTER TABLE public.owned_${suffix} OWNER TO ${OWNER}`);
});
afterAll(async () => {
  await admin.query(`DROP TABLE IF EXISTS public.owned_${suffix}`);
  for (const role of [LEAN, RICH, OWNER]) await admin.query(`DROP ROLE IF EXISTS ${role}`);
  await admin.end();
  await database.drop();
});

describe('the least-privilege check', () => {
  it('accepts a role with no attribute, membership or table', async () => {
    await expect(assertLeastPrivilege(admin, [LEAN])).resolves.toBeUndefined();
  });

  it('names each excess: role attributes, memberships such as pg_execute_server_program, owned tables', async () => {
    await expect(assertLeastPrivilege(admin, [LEAN, RICH])).rejects.toThrow(
      new RegExp(`${RICH} \\(CREATEDB, BYPASSRLS, member of pg_execute_server_program\\)`),
    );
    await expect(assertLeastPrivilege(admin, [OWNER])).rejects.toThrow(new RegExp(`${OWNER} \\(owns public\\.owned_${suffix}\\)`));
  });

  it('refuses to start without the roles', async () => {
    await expect(assertLeastPrivilege(admin, [LEAN, `payrail_t_missing_${suffix}`])).rejects.toThrow(/database roles missing: payrail_t_missing_/);
  });
});

describe('role passwords', () => {
  it('go out as SCRAM-SHA-256 verifiers that PostgreSQL accepts, never as the password', async () => {
    const password = `pw-${randomBytes(8).toString('hex')}`;
    const verifier = scramVerifier(password);
    expect(verifier).toMatch(/^SCRAM-SHA-256\$4096:[A-Za-z0-9+/=]+\$[A-Za-z0-9+/=]+:[A-Za-z0-9+/=]+$/);
    expect(verifier).not.toContain(password);
    await admin.query(`ALTER ROLE ${LEAN} PASSWORD '${verifier}'`);
    const stored = await admin.query<{ rolpassword: string }>('SELECT rolpassword FROM pg_authid WHERE rolname = $1', [LEAN]);
    expect(stored.rows[0]?.rolpassword).toBe(verifier);
  });
});
