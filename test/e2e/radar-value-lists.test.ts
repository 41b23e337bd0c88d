import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type Stripe from 'stripe';
import type { TestPlatform } from '../support/platform.js';
import { startTestPlatform, stripeClient } from '../support/platform.js';
import { rejection } from '../support/stripe-errors.js';
import { stripeSchemaProblems } from '../support/stripe-schema.js';
import { apiRequest } from '../support/api-request.js';
import { createApiKey } from '../../src/services/merchants/index.js';
import { UlidGenerator } from '../../src/kernel/ids.js';

let t: TestPlatform;
let stripe: Stripe;

beforeAll(async () => {
  t = await startTestPlatform();
  stripe = t.stripe;
}, 60_000);
afterAll(async () => {
  await t?.stop();
});

async function auditTypes(object_id: string): Promise<string[]> {
  const rows = await t.owner.query<{ type: string }>('SELECT type FROM audit.security_events WHERE object_id = $1 ORDER BY seq', [object_id]);
  return rows.rows.map((row) => row.type);
}

describe('value lists through the stripe SDK', () => {
  it('creates, retrieves, updates, lists and deletes a list, each object valid against the OpenAPI schema', async () => {
    const list = await stripe.radar.valueLists.create({ alias: 'blocked_emails', name: 'Blocked emails', item_type: 'email', metadata: { team: 'risk' } });
    expect(list.id).toMatch(/^rsl_/);
    expect(list).toMatchObject({ object: 'radar.value_list', alias: 'blocked_emails', item_type: 'email', livemode: false, metadata: { team: 'risk' } });
    expect(list.list_items).toMatchObject({ object: 'list', data: [], has_more: false, url: `/v1/radar/value_list_items?value_list=${list.id}` });
    expect(stripeSchemaProblems('radar.value_list', list)).toEqual([]);

    const item = await stripe.radar.valueListItems.create({ value_list: list.id, value: 'Fraud@Example.com' });
    expect(item.id).toMatch(/^rsli_/);
    expect(item).toMatchObject({ object: 'radar.value_list_item', value: 'Fraud@Example.com', value_list: list.id, livemode: false });
    expect(stripeSchemaProblems('radar.value_list_item', item)).toEqual([]);
    expect(await stripe.radar.valueListItems.retrieve(item.id)).toEqual(item);

    const retrieved = await stripe.radar.valueLists.retrieve(list.id);
    expect(retrieved.list_items.data).toEqual([item]);
    expect(stripeSchemaProblems('radar.value_list', retrieved)).toEqual([]);

    const updated = await stripe.radar.valueLists.update(list.id, { name: 'Emails we refuse', alias: 'refused_emails', metadata: { team: '' } });
    expect(updated).toMatchObject({ name: 'Emails we refuse', alias: 'refused_emails', metadata: {} });

    // contains matches case-insensitively for an email list; alias filters exactly.
    const containing = await stripe.radar.valueLists.list({ contains: 'fraud@example.com' });
    expect(containing.data.map((l) => l.id)).toEqual([list.id]);
    expect((await stripe.radar.valueLists.list({ contains: 'other@example.com' })).data).toEqual([]);
    expect((await stripe.radar.valueLists.list({ alias: 'refused_emails' })).data.map((l) => l.id)).toEqual([list.id]);
    const items = await stripe.radar.valueListItems.list({ value_list: list.id });
    expect(items.data.map((i) => i.id)).toEqual([item.id]);

    expect(await stripe.radar.valueListItems.del(item.id)).toEqual({ id: item.id, object: 'radar.value_list_item', deleted: true });
    expect(await stripe.radar.valueLists.del(list.id)).toEqual({ id: list.id, object: 'radar.value_list', deleted: true });
    expect((await rejection(stripe.radar.valueLists.retrieve(list.id))).code).toBe('resource_missing');

    expect(await auditTypes(list.id)).toEqual(['radar.value_list.created', 'radar.value_list.updated', 'radar.value_list.deleted']);
    expect(await auditTypes(item.id)).toEqual(['radar.value_list_item.created', 'radar.value_list_item.deleted']);
  });

  it('contains and value match each list by its own type: case only where the type ignores it, IPv6 however spelled', async () => {
    const exact = await stripe.radar.valueLists.create({ alias: 'exact_codes', name: 'Exact', item_type: 'case_sensitive_string' });
    const loose = await stripe.radar.valueLists.create({ alias: 'loose_codes', name: 'Loose', item_type: 'string' });
    const ips = await stripe.radar.valueLists.create({ alias: 'bad_ips', name: 'IPs', item_type: 'ip_address' });
    await stripe.radar.valueListItems.create({ value_list: exact.id, value: 'CodeX' });
    await stripe.radar.valueListItems.create({ value_list: loose.id, value: 'CodeX' });
    await stripe.radar.valueListItems.create({ value_list: ips.id, value: '2001:DB8:0:0::1' });
    const ids = async (contains: string) => (await stripe.radar.valueLists.list({ contains })).data.map((list) => list.id).sort();
    expect(await ids('CodeX')).toEqual([exact.id, loose.id].sort());
    expect(await ids('codex')).toEqual([loose.id]);
    expect(await ids('2001:db8::1')).toEqual([ips.id]);
    expect((await stripe.radar.valueListItems.list({ value_list: exact.id, value: 'codex' })).data).toEqual([]);
    expect((await stripe.radar.valueListItems.list({ value_list: loose.id, value: 'codex' })).data).toHaveLength(1);
    expect((await stripe.radar.valueListItems.list({ value_list: ips.id, value: '2001:db8:0:0:0:0:0:1' })).data).toHaveLength(1);
  });

  it('pages lists newest first with cursors', async () => {
    const made = [];
    for (let i = 0; i < 3; i++) made.push(await stripe.radar.valueLists.create({ alias: `page_${i}`, name: `Page ${i}` }));
    const first = await stripe.radar.valueLists.list({ limit: 2 });
    expect(first.has_more).toBe(true);
    expect(first.data.map((l) => l.id)).toEqual([made[2]?.id, made[1]?.id]);
    const next = await stripe.radar.valueLists.list({ limit: 2, starting_after: made[1]?.id ?? '' });
    expect(next.data.map((l) => l.id)).toContain(made[0]?.id);
    for (const list of made) await stripe.radar.valueLists.del(list.id);
  });
});

describe("Stripe's errors for bad input, and nothing stored", () => {
  it('refuses a missing alias, a taken alias, an unknown item_type and an alias rules cannot name', async () => {
    const missing = await apiRequest<{ error: { code: string; param: string } }>(t.url, t.secret_key, '/v1/radar/value_lists', { form: 'name=x' });
    expect(missing.status).toBe(400);
    expect(missing.body.error).toMatchObject({ code: 'parameter_missing', param: 'alias' });

    await stripe.radar.valueLists.create({ alias: 'taken', name: 'First' });
    const taken = await rejection(stripe.radar.valueLists.create({ alias: 'taken', name: 'Second' }));
    expect(taken).toMatchObject({ type: 'StripeInvalidRequestError', code: 'resource_already_exists', param: 'alias', statusCode: 400 });

    const type = await rejection(stripe.radar.valueLists.create({ alias: 'x', name: 'x', item_type: 'phone' as 'email' }));
    expect(type).toMatchObject({ code: 'parameter_invalid', param: 'item_type' });
    const alias = await rejection(stripe.radar.valueLists.create({ alias: 'has space', name: 'x' }));
    expect(alias).toMatchObject({ code: 'parameter_invalid', param: 'alias' });

    const lists = await t.owner.query("SELECT alias FROM risk.value_lists WHERE alias IN ('taken', 'x', 'has space')");
    expect(lists.rows).toEqual([{ alias: 'taken' }]);
  });

  it('refuses an item without its list, in an unknown list, of the wrong type or already listed', async () => {
    const list = await stripe.radar.valueLists.create({ alias: 'countries', name: 'Countries', item_type: 'country' });
    const missing = await apiRequest<{ error: { code: string; param: string } }>(t.url, t.secret_key, '/v1/radar/value_list_items', { form: 'value=US' });
    expect(missing.body.error).toMatchObject({ code: 'parameter_missing', param: 'value_list' });
    expect(await rejection(stripe.radar.valueListItems.create({ value_list: 'rsl_nope', value: 'US' }))).toMatchObject({
      code: 'resource_missing',
      param: 'value_list',
      statusCode: 404,
    });
    expect(await rejection(stripe.radar.valueListItems.create({ value_list: list.id, value: 'USA' }))).toMatchObject({
      code: 'parameter_invalid',
      param: 'value',
    });
    await stripe.radar.valueListItems.create({ value_list: list.id, value: 'US' });
    expect(await rejection(stripe.radar.valueListItems.create({ value_list: list.id, value: 'us' }))).toMatchObject({
      code: 'resource_already_exists',
      param: 'value',
    });
    const listing = await apiRequest<{ error: { code: string; param: string } }>(t.url, t.secret_key, '/v1/radar/value_list_items');
    expect(listing.body.error).toMatchObject({ code: 'parameter_missing', param: 'value_list' });
    const items = await t.owner.query('SELECT value FROM risk.value_list_items WHERE value_list_id = $1', [list.id]);
    expect(items.rows).toEqual([{ value: 'US' }]);
  });

  it("keeps each merchant's lists to itself", async () => {
    const list = await stripe.radar.valueLists.create({ alias: 'mine', name: 'Mine' });
    const other = await t.newMerchant();
    expect((await rejection(other.stripe.radar.valueLists.retrieve(list.id))).code).toBe('resource_missing');
    expect((await other.stripe.radar.valueLists.list({ alias: 'mine' })).data).toEqual([]);
    // The same alias is free for another merchant.
    expect((await other.stripe.radar.valueLists.create({ alias: 'mine', name: 'Theirs' })).alias).toBe('mine');
  });

  it('a restricted key needs the radar_value_lists permission', async () => {
    const denied = await restrictedClient({});
    expect(await rejection(denied.radar.valueLists.list())).toMatchObject({ statusCode: 403 });
    const reader = await restrictedClient({ radar_value_lists: 'read' });
    expect((await reader.radar.valueLists.list()).object).toBe('list');
    expect(await rejection(reader.radar.valueLists.create({ alias: 'nope', name: 'Nope' }))).toMatchObject({ statusCode: 403 });
    const lists_only = await restrictedClient({ radar_value_lists: 'write' });
    const list = await lists_only.radar.valueLists.create({ alias: 'perm_check', name: 'Permissions' });
    const denied_item = await rejection(lists_only.radar.valueListItems.create({ value_list: list.id, value: 'x' }));
    expect(denied_item).toMatchObject({ statusCode: 403 });
    expect(denied_item.message).toContain('rak_radar_value_list_item_write');
    const items = await restrictedClient({ radar_value_list_items: 'write' });
    expect((await items.radar.valueListItems.create({ value_list: list.id, value: 'x' })).value).toBe('x');
  });

  it('an account holds at most 1,000 lists', async () => {
    const other = await t.newMerchant();
    const first = await other.stripe.radar.valueLists.create({ alias: 'first', name: 'First' });
    const merchant = (await t.owner.query<{ merchant_id: string }>('SELECT merchant_id FROM risk.value_lists WHERE id = $1', [first.id])).rows[0]?.merchant_id;
    await t.owner.query(
      `INSERT INTO risk.value_lists (merchant_id, id, alias, name, item_type, metadata, created_by, livemode, created, version)
        SELECT $1, 'rsl_filler' || n, 'filler_' || n, 'Filler', 'string', '{}', 'test', false, 0, 1 FROM generate_series(1, 998) n`,
      [merchant],
    );
    await other.stripe.radar.valueLists.create({ alias: 'last', name: 'The thousandth' });
    const refused = await rejection(other.stripe.radar.valueLists.create({ alias: 'one_more', name: 'One more' }));
    expect(refused).toMatchObject({ code: 'parameter_invalid', param: 'alias' });
    expect(refused.message).toContain('at most 1000 value lists');
  });
});

describe('retries and races', () => {
  it('a retried create with the same Idempotency-Key is one list and one item', async () => {
    const first = await stripe.radar.valueLists.create({ alias: 'retried', name: 'Retried' }, { idempotencyKey: 'vl-retry-1' });
    const again = await stripe.radar.valueLists.create({ alias: 'retried', name: 'Retried' }, { idempotencyKey: 'vl-retry-1' });
    expect(again).toEqual(first);
    const item = await stripe.radar.valueListItems.create({ value_list: first.id, value: 'x' }, { idempotencyKey: 'vli-retry-1' });
    expect(await stripe.radar.valueListItems.create({ value_list: first.id, value: 'x' }, { idempotencyKey: 'vli-retry-1' })).toEqual(item);
    const stored = await t.owner.query('SELECT count(*)::int AS n FROM risk.value_list_items WHERE value_list_id = $1', [first.id]);
    expect(stored.rows).toEqual([{ n: 1 }]);
  });

  it('of concurrent creates with one alias, exactly one list is stored', async () => {
    const results = await Promise.allSettled(Array.from({ length: 8 }, (_, i) => stripe.radar.valueLists.create({ alias: 'raced', name: `Raced ${i}` })));
    const made = results.filter((result) => result.status === 'fulfilled');
    expect(made).toHaveLength(1);
    for (const result of results) {
      if (result.status === 'rejected') expect(['resource_already_exists', 'lock_timeout']).toContain((result.reason as { code?: string }).code);
    }
    const stored = await t.owner.query("SELECT count(*)::int AS n FROM risk.value_lists WHERE alias = 'raced'");
    expect(stored.rows).toEqual([{ n: 1 }]);
  });

  it('of concurrent adds of one value, exactly one item is stored', async () => {
    const list = await stripe.radar.valueLists.create({ alias: 'raced_items', name: 'Raced items', item_type: 'email' });
    const results = await Promise.allSettled(
      Array.from({ length: 8 }, (_, i) => stripe.radar.valueListItems.create({ value_list: list.id, value: i % 2 ? 'Same@Example.com' : 'same@example.com' })),
    );
    expect(results.filter((result) => result.status === 'fulfilled')).toHaveLength(1);
    const stored = await t.owner.query('SELECT count(*)::int AS n FROM risk.value_list_items WHERE value_list_id = $1', [list.id]);
    expect(stored.rows).toEqual([{ n: 1 }]);
  });
});

async function restrictedClient(permissions: Record<string, 'read' | 'write'>): Promise<Stripe> {
  const merchant = (await t.owner.query<{ merchant_id: string }>("SELECT merchant_id FROM merchants.api_keys WHERE kind = 'secret' ORDER BY created LIMIT 1"))
    .rows[0];
  const store = { pool: t.platform.database.pool, hasher: t.platform.key_hasher, ids: new UlidGenerator() };
  const created = await createApiKey(
    store,
    merchant?.merchant_id ?? '',
    { kind: 'restricted', livemode: false, name: null, permissions },
    { now_s: Math.floor(Date.now() / 1000), actor: { type: 'system' } },
  );
  return stripeClient(t.url, created.key);
}
