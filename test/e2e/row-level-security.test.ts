import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DB_ROLES } from '../../src/platform/rls.js';
import type { TestPlatform } from '../support/platform.js';
import { startTestPlatform } from '../support/platform.js';
import { chargeIdOf } from '../support/stripe-objects.js';

/**
 * Row-level security as the only guard: the platform's own database roles, driven with raw SQL, see
 * only the merchant their transaction is scoped to, nothing at all when no merchant is set, and
 * cannot reach the operating system, create roles, or read a sealed card.
 */

let t: TestPlatform;
const merchants: { a: string; b: string } = { a: '', b: '' };
/** Tables that must hold rows of both merchants once the set-up ran, so the checks below see real rows. */
const POPULATED = [
  'merchants.api_keys',
  'gateway.idempotency_keys',
  'payments.payment_intents',
  'payments.charges',
  'payments.refunds',
  'payments.customers',
  'payments.processor_calls',
  'vault.payment_methods',
  'events.outbox',
  'events.webhook_endpoints',
  'ledger.transfers',
  'ledger.postings',
  'sandbox.attempts',
];
const LEDGER_WAIT_MS = 15_000;

async function populate(stripe: TestPlatform['stripe']): Promise<void> {
  const customer = await stripe.customers.create({ email: 'rls@example.com' });
  const card = await stripe.paymentMethods.create({ type: 'card', card: { number: '4242424242424242', exp_month: 12, exp_year: 2034, cvc: '123' } });
  await stripe.paymentMethods.attach(card.id, { customer: customer.id });
  const paid = await stripe.paymentIntents.create(
    { amount: 4200, currency: 'usd', customer: customer.id, payment_method: card.id, confirm: true },
    { idempotencyKey: `rls-${customer.id}` },
  );
  await stripe.refunds.create({ charge: chargeIdOf(paid), amount: 200 });
  await stripe.webhookEndpoints.create({ url: 'https://hooks.example.com/rls', enabled_events: ['charge.refunded'] });
}

/** Rows of `table` per merchant, as the owner sees them. */
async function ownerCounts(table: string): Promise<{ a: number; b: number; all: number }> {
  const { rows } = await t.owner.query<{ a: number; b: number; all: number }>(
    `SELECT count(*) FILTER (WHERE merchant_id = $1)::int AS a, count(*) FILTER (WHERE merchant_id = $2)::int AS b, count(*)::int AS all FROM ${table}`,
    [merchants.a, merchants.b],
  );
  return rows[0]!;
}

/** The tables with a merchant_id column, from the catalog: whatever a migration added. */
async function merchantScopedTables(): Promise<string[]> {
  const { rows } = await t.owner.query<{ name: string }>(`
    SELECT c.table_schema || '.' || c.table_name AS name FROM information_schema.columns c
    JOIN information_schema.tables tb ON tb.table_schema = c.table_schema AND tb.table_name = c.table_name AND tb.table_type = 'BASE TABLE'
    WHERE c.column_name = 'merchant_id' ORDER BY 1`);
  return rows.map((row) => row.name);
}

/** A session as one of the platform's roles, exactly as its pools log in. */
async function as<T>(role: keyof typeof DB_ROLES, work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: t.platform.database.urls[role] });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

/** One transaction scoped to `merchant_id`, as the platform's merchant-scoped pools run each statement. */
async function scoped<T>(client: pg.Client, merchant_id: string, work: () => Promise<T>): Promise<T> {
  await client.query('BEGIN');
  await client.query(`SELECT set_config('payrail.merchant_id', $1, true)`, [merchant_id]);
  try {
    return await work();
  } finally {
    await client.query('ROLLBACK');
  }
}

async function sqlState(promise: Promise<unknown>): Promise<string | undefined> {
  try {
    await promise;
    return undefined;
  } catch (error) {
    return (error as { code?: string }).code;
  }
}

beforeAll(async () => {
  t = await startTestPlatform();
  const other = await t.newMerchant();
  await populate(t.stripe);
  await populate(other.stripe);
  const { rows } = await t.owner.query<{ merchant_id: string }>('SELECT DISTINCT merchant_id FROM payments.customers ORDER BY 1');
  const ids = rows.map((row) => row.merchant_id);
  expect(ids).toHaveLength(2);
  [merchants.a, merchants.b] = [ids[0]!, ids[1]!];
  const deadline = Date.now() + LEDGER_WAIT_MS;
  while (Date.now() < deadline) {
    const counts = await ownerCounts('ledger.transfers');
    if (counts.a > 0 && counts.b > 0) break;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}, 60_000);
afterAll(async () => {
  await t?.stop();
});

describe('every merchant-scoped table', () => {
  it('has row-level security enabled and forced, with the merchant policy (a new table cannot forget it)', async () => {
    const tables = await merchantScopedTables();
    expect(tables).toEqual(expect.arrayContaining(POPULATED));
    const { rows } = await t.owner.query<{ name: string; enabled: boolean; forced: boolean; policy: string | null }>(
      `SELECT n.nspname || '.' || c.relname AS name, c.relrowsecurity AS enabled, c.relforcerowsecurity AS forced,
         (SELECT p.qual FROM pg_policies p WHERE p.schemaname = n.nspname AND p.tablename = c.relname AND p.policyname = 'merchant_scope') AS policy
       FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname || '.' || c.relname = ANY ($1::text[]) ORDER BY 1`,
      [tables],
    );
    const unguarded = rows.filter((row) => !row.enabled || !row.forced || !row.policy?.includes("current_setting('payrail.merchant_id'"));
    expect(unguarded.map((row) => row.name)).toEqual([]);
    expect(rows).toHaveLength(tables.length);
  });

  it('holds rows of both merchants after the set-up, so the checks below are about real rows', async () => {
    for (const table of POPULATED) {
      const counts = await ownerCounts(table);
      expect({ table, a: counts.a > 0, b: counts.b > 0 }).toEqual({ table, a: true, b: true });
    }
  });

  it('shows the app role nothing when a query forgets the merchant, and only the scoped merchant otherwise', async () => {
    const tables = (await merchantScopedTables()).filter((table) => !table.startsWith('vault.'));
    await as('app', async (client) => {
      for (const table of tables) {
        const owner = await ownerCounts(table);
        const unscoped = await client.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${table}`);
        expect({ table, rows: unscoped.rows[0]?.n }).toEqual({ table, rows: 0 });
        for (const [merchant, expected] of [
          [merchants.a, owner.a],
          [merchants.b, owner.b],
        ] as const) {
          const seen = await scoped(client, merchant, () =>
            client.query<{ n: number; foreign: number }>(
              `SELECT count(*)::int AS n, count(*) FILTER (WHERE merchant_id IS DISTINCT FROM $1)::int AS foreign FROM ${table}`,
              [merchant],
            ),
          );
          expect({ table, ...seen.rows[0] }).toEqual({ table, n: expected, foreign: 0 });
        }
      }
    });
  });

  it('refuses the app role a row written for another merchant, and leaves other merchants’ rows untouched', async () => {
    await as('app', async (client) => {
      const insert = scoped(client, merchants.a, () =>
        client.query(`INSERT INTO payments.customers (merchant_id, id, created, version, state) VALUES ($1, 'cus_rlsForeign', 0, 1, '{}')`, [merchants.b]),
      );
      expect(await sqlState(insert)).toBe('42501');
      const update = await scoped(client, merchants.a, () =>
        client.query(`UPDATE payments.payment_intents SET version = version WHERE merchant_id = $1`, [merchants.b]),
      );
      expect(update.rowCount).toBe(0);
      const removed = await scoped(client, merchants.a, () => client.query(`DELETE FROM gateway.idempotency_keys WHERE merchant_id = $1`, [merchants.b]));
      expect(removed.rowCount).toBe(0);
    });
    expect((await ownerCounts('gateway.idempotency_keys')).b).toBeGreaterThan(0);
  });

  it('lets the system role, for work spanning merchants, see every row', async () => {
    await as('system', async (client) => {
      for (const table of ['payments.charges', 'events.outbox', 'ledger.postings']) {
        const seen = await client.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${table}`);
        expect({ table, n: seen.rows[0]?.n }).toEqual({ table, n: (await ownerCounts(table)).all });
      }
    });
  });
});

describe('the vault', () => {
  it('is unreadable by the app role except a card’s metadata, and by the system role entirely', async () => {
    await as('app', async (client) => {
      expect(await sqlState(client.query('SELECT ciphertext FROM vault.payment_methods'))).toBe('42501');
      expect(await sqlState(client.query('SELECT wrapped_key FROM vault.payment_methods'))).toBe('42501');
      expect(await sqlState(client.query('SELECT * FROM vault.payment_methods'))).toBe('42501');
      expect(await sqlState(client.query('SELECT count(*) FROM vault.detokenizations'))).toBe('42501');
      const metadata = await scoped(client, merchants.a, () => client.query<{ n: number }>('SELECT count(state)::int AS n FROM vault.payment_methods'));
      expect(metadata.rows[0]?.n).toBe((await ownerCounts('vault.payment_methods')).a);
      expect((await client.query<{ n: number }>('SELECT count(state)::int AS n FROM vault.payment_methods')).rows[0]?.n).toBe(0);
    });
    await as('system', async (client) => {
      expect(await sqlState(client.query('SELECT count(*) FROM vault.payment_methods'))).toBe('42501');
    });
  });

  it('reads sealed cards through its own role', async () => {
    await as('vault', async (client) => {
      const sealed = await client.query<{ n: number }>('SELECT count(ciphertext)::int AS n FROM vault.payment_methods');
      expect(sealed.rows[0]?.n).toBe((await ownerCounts('vault.payment_methods')).all);
    });
  });
});

describe('the roles', () => {
  const roles = Object.keys(DB_ROLES) as Array<keyof typeof DB_ROLES>;

  it('are no superuser, create no roles or databases, bypass no RLS, belong to no role and own nothing', async () => {
    const { rows } = await t.owner.query(
      `SELECT r.rolname, r.rolsuper, r.rolcreaterole, r.rolcreatedb, r.rolbypassrls, r.rolreplication,
         (SELECT count(*)::int FROM pg_auth_members m WHERE m.member = r.oid) AS memberships,
         (SELECT count(*)::int FROM pg_class c WHERE c.relowner = r.oid) AS owned
       FROM pg_roles r WHERE r.rolname = ANY ($1::text[]) ORDER BY 1`,
      [Object.values(DB_ROLES)],
    );
    expect(rows).toEqual(
      Object.values(DB_ROLES)
        .sort()
        .map((rolname) => ({
          rolname,
          rolsuper: false,
          rolcreaterole: false,
          rolcreatedb: false,
          rolbypassrls: false,
          rolreplication: false,
          memberships: 0,
          owned: 0,
        })),
    );
  });

  it.each(roles)('%s cannot run a program, read server files, create a role or a table, switch role or turn RLS off', async (role) => {
    await as(role, async (client) => {
      expect(await sqlState(client.query(`COPY (SELECT 1) TO PROGRAM 'true'`))).toBe('42501');
      expect(await sqlState(client.query(`SELECT pg_read_file('/etc/hostname')`))).toBe('42501');
      expect(await sqlState(client.query(`COPY (SELECT 1) TO '/tmp/payrail-rls-test'`))).toBe('42501');
      expect(await sqlState(client.query('CREATE ROLE payrail_rls_intruder'))).toBe('42501');
      expect(await sqlState(client.query('CREATE TABLE public.payrail_rls_intruder (a int)'))).toBe('42501');
      expect(await sqlState(client.query('ALTER TABLE payments.charges DISABLE ROW LEVEL SECURITY'))).toBe('42501');
      expect(await sqlState(client.query(`SET ROLE ${DB_ROLES.system === DB_ROLES[role] ? DB_ROLES.app : DB_ROLES.system}`))).toBe('42501');
    });
  });

  it('are what the platform’s own pools log in as: none connects as the owner', async () => {
    await t.stripe.customers.list({ limit: 1 });
    const { rows } = await t.owner.query<{ usename: string }>(
      `SELECT DISTINCT usename FROM pg_stat_activity WHERE datname = current_database() AND application_name IN ('payrail', 'payrail-lease')`,
    );
    expect(rows.length).toBeGreaterThan(0);
    expect(rows.filter((row) => !(Object.values(DB_ROLES) as string[]).includes(row.usename))).toEqual([]);
  });
});
