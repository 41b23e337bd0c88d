import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { TestPlatform } from '../support/platform.js';
import { startTestPlatform } from '../support/platform.js';
import type { Database } from '../../src/platform/database.js';
import { systemClock } from '../../src/kernel/clock.js';
import type { RadarRulesHandle } from '../../src/services/risk/index.js';
import { DEFAULT_RULE_ID, openRadarRules } from '../../src/services/risk/index.js';
import { radarCommands } from '../../src/cli/radar.js';
import { verifyAuditLog } from '../../src/services/audit/index.js';
import { rejection } from '../support/stripe-errors.js';

const ADMIN_TOKEN = 'admin_7c1e9a3f5b2d8e4a6c0f1b3d5e7a9c2e';
/** How long a change may take to reach another process's compiled rules (one NOTIFY round trip; generous for a loaded CI machine). */
const PROPAGATION_MS = 5_000;

let t: TestPlatform;
let merchant_id: string;
let rules: RadarRulesHandle;

beforeAll(async () => {
  t = await startTestPlatform({ admin_token: ADMIN_TOKEN });
  merchant_id = (await t.owner.query<{ id: string }>('SELECT id FROM merchants.merchants')).rows[0]?.id ?? '';
  // As another process would hold them: its own pool-independent listener on the same database.
  rules = openRadarRules({ pool: t.platform.database.pool, clock: systemClock, database_url: t.platform.database.url, ttl_ms: 60_000 });
  await rules.listening();
}, 60_000);
afterAll(async () => {
  await rules?.close();
  await t?.stop();
});

async function admin(method: string, path: string, form?: Record<string, string>, token = ADMIN_TOKEN) {
  const response = await fetch(`${t.url}/admin/v1/merchants/${merchant_id}/radar/rules${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(form ? { 'content-type': 'application/x-www-form-urlencoded' } : {}) },
    ...(form ? { body: new URLSearchParams(form).toString() } : {}),
  });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> & { id: string } };
}

async function auditRows(object_id: string) {
  const rows = await t.owner.query<{ type: string; actor_type: string; data: string }>(
    'SELECT type, actor_type, data FROM audit.security_events WHERE object_id = $1 ORDER BY seq',
    [object_id],
  );
  return rows.rows.map((row) => ({ type: row.type, actor: row.actor_type, ...(JSON.parse(row.data) as { old?: unknown; new?: unknown }) }));
}

const highest = { risk_level: 'highest', risk_score: 90, amount_in_usd: 20, card_country: 'US', ip_country: 'US', email: 'a@shop.test' };

/** Polls the other process's verdict until `check` holds (a NOTIFY is asynchronous), failing after PROPAGATION_MS. */
async function eventually(attributes: Record<string, string | number | null>, check: (action: string | null) => boolean) {
  await vi.waitFor(
    async () => {
      expect(check((await rules.verdict(merchant_id, attributes)).action)).toBe(true);
    },
    { timeout: PROPAGATION_MS, interval: 20 },
  );
}

describe('the admin API', () => {
  it('answers only the admin token', async () => {
    expect((await admin('GET', '', undefined, 'wrong')).status).toBe(401);
  });

  it('every merchant has the default rule, which blocks the highest risk level until disabled', async () => {
    const listed = await admin('GET', '');
    expect(listed.body.data).toEqual([
      expect.objectContaining({ id: DEFAULT_RULE_ID, action: 'block', predicate: ":risk_level: = 'highest'", enabled: true, default: true }),
    ]);
    expect(await rules.verdict(merchant_id, highest)).toEqual({
      action: 'block',
      rule: { id: DEFAULT_RULE_ID, action: 'block', predicate: ":risk_level: = 'highest'" },
    });

    const disabled = await admin('POST', `/${DEFAULT_RULE_ID}/disable`, {});
    expect(disabled.body).toMatchObject({ id: DEFAULT_RULE_ID, enabled: false });
    await eventually(highest, (action) => action === null);
    expect((await admin('DELETE', `/${DEFAULT_RULE_ID}`)).body).toMatchObject({ error: { code: 'parameter_invalid', param: 'rule' } });
    await admin('POST', `/${DEFAULT_RULE_ID}/enable`, {});
    await eventually(highest, (action) => action === 'block');

    expect(await auditRows(DEFAULT_RULE_ID)).toEqual([
      {
        type: 'risk_rule.updated',
        actor: 'admin_api',
        old: { rule: "Block if :risk_level: = 'highest'", enabled: true },
        new: { rule: "Block if :risk_level: = 'highest'", enabled: false },
      },
      {
        type: 'risk_rule.updated',
        actor: 'admin_api',
        old: { rule: "Block if :risk_level: = 'highest'", enabled: false },
        new: { rule: "Block if :risk_level: = 'highest'", enabled: true },
      },
    ]);
  });

  it('adds, changes and deletes a rule, each change audited with the old and new text and reaching other processes', async () => {
    const normal = { ...highest, risk_level: 'normal', risk_score: 10, amount_in_usd: 800 };
    const added = await admin('POST', '', { rule: 'Request 3D Secure if :amount_in_usd: > 500' });
    expect(added.status).toBe(200);
    expect(added.body).toMatchObject({ object: 'radar.rule', action: 'request_credentials', predicate: ':amount_in_usd: > 500', enabled: true });
    expect(added.body.id).toMatch(/^rule_/);
    await eventually(normal, (action) => action === 'request_credentials');

    const updated = await admin('POST', `/${added.body.id}`, { rule: 'Review if :amount_in_usd: > 500' });
    expect(updated.body).toMatchObject({ id: added.body.id, action: 'review', rule: 'Review if :amount_in_usd: > 500' });
    await eventually(normal, (action) => action === 'review');

    expect((await admin('DELETE', `/${added.body.id}`)).body).toEqual({ id: added.body.id, object: 'radar.rule', deleted: true });
    await eventually(normal, (action) => action === null);
    expect((await admin('DELETE', `/${added.body.id}`)).status).toBe(404);

    expect(await auditRows(added.body.id)).toEqual([
      { type: 'risk_rule.created', actor: 'admin_api', old: null, new: { rule: 'Request 3D Secure if :amount_in_usd: > 500', enabled: true } },
      {
        type: 'risk_rule.updated',
        actor: 'admin_api',
        old: { rule: 'Request 3D Secure if :amount_in_usd: > 500', enabled: true },
        new: { rule: 'Review if :amount_in_usd: > 500', enabled: true },
      },
      { type: 'risk_rule.deleted', actor: 'admin_api', old: { rule: 'Review if :amount_in_usd: > 500', enabled: true }, new: null },
    ]);
    expect((await verifyAuditLog(t.platform.database.pool)).findings).toEqual([]);
  });

  it('moves a rule in the merchant order, which decides between two matching rules of one action', async () => {
    const risky = { ...highest, risk_level: 'normal', risk_score: 95 };
    const broad = await admin('POST', '', { rule: 'Block if :risk_score: > 50' });
    const narrow = await admin('POST', '', { rule: 'Block if :risk_score: > 90' });
    await eventually(risky, (action) => action === 'block');
    expect((await rules.verdict(merchant_id, risky)).rule?.id).toBe(broad.body.id);

    const listed = (await admin('GET', '')).body.data as { id: string }[];
    const moved = await admin('POST', `/${narrow.body.id}/move`, { position: String(listed.findIndex((rule) => rule.id === broad.body.id) + 1) });
    expect(moved.body).toMatchObject({ id: narrow.body.id, rule: 'Block if :risk_score: > 90' });
    await vi.waitFor(async () => expect((await rules.verdict(merchant_id, risky)).rule?.id).toBe(narrow.body.id), { timeout: PROPAGATION_MS, interval: 20 });
    const order = ((await admin('GET', '')).body.data as { id: string; position: number }[]).map((rule) => [rule.id, rule.position]);
    expect(order.map(([id]) => id).indexOf(narrow.body.id)).toBe(order.map(([id]) => id).indexOf(broad.body.id) - 1);
    expect(order.map(([, position]) => position)).toEqual(order.map((_, index) => index + 1));

    const [audit] = (await auditRows(narrow.body.id)).slice(-1);
    expect(audit).toMatchObject({ type: 'risk_rule.updated', actor: 'admin_api' });
    expect((audit?.new as { position: number }).position).toBeLessThan((audit?.old as { position: number }).position);

    expect((await admin('POST', `/${narrow.body.id}/move`, { position: '99' })).body).toMatchObject({
      error: { code: 'parameter_invalid', param: 'position' },
    });
    await admin('DELETE', `/${broad.body.id}`);
    await admin('DELETE', `/${narrow.body.id}`);
  });

  it('refuses a malformed rule with where and what was expected, and stores nothing', async () => {
    const before = await t.owner.query('SELECT count(*)::int AS n FROM risk.rules');
    const bad = await admin('POST', '', { rule: 'Block if :risk_score: >> 75' });
    expect(bad.status).toBe(400);
    const error = bad.body.error as { type: string; code: string; param: string; message: string };
    expect(error).toMatchObject({ type: 'invalid_request_error', code: 'parameter_invalid', param: 'rule' });
    expect(error.message).toMatch(/^Invalid rule: expected .* at line 1, column 24 \(offset 23\)\.$/);
    const unknown_list = await admin('POST', '', { rule: 'Allow if :email: in @nowhere' });
    expect(unknown_list.body).toMatchObject({ error: { code: 'parameter_invalid' } });
    expect((unknown_list.body.error as { message: string }).message).toContain('@nowhere');
    const missing = await admin('POST', '', {});
    expect(missing.body).toMatchObject({ error: { code: 'parameter_missing', param: 'rule' } });
    expect((await t.owner.query('SELECT count(*)::int AS n FROM risk.rules')).rows).toEqual(before.rows);
  });

  it('refuses a merchant that does not exist, and stores no rule and no audit row', async () => {
    const stored = () =>
      t.owner.query(
        "SELECT (SELECT count(*)::int FROM risk.rules) AS rules, (SELECT count(*)::int FROM audit.security_events WHERE type LIKE 'risk_rule.%') AS audited",
      );
    const before = await stored();
    const ghost = (method: string, path: string, form?: Record<string, string>) =>
      fetch(`${t.url}/admin/v1/merchants/acct_ghost123/radar/rules${path}`, {
        method,
        headers: { authorization: `Bearer ${ADMIN_TOKEN}`, ...(form ? { 'content-type': 'application/x-www-form-urlencoded' } : {}) },
        ...(form ? { body: new URLSearchParams(form).toString() } : {}),
      }).then(async (response) => ({ status: response.status, body: (await response.json()) as { error?: { code: string; param: string } } }));
    for (const answer of [
      await ghost('GET', ''),
      await ghost('POST', '', { rule: 'Block if :risk_score: > 75' }),
      await ghost('POST', `/${DEFAULT_RULE_ID}/disable`, {}),
      await ghost('POST', `/${DEFAULT_RULE_ID}/move`, { position: '1' }),
    ]) {
      expect(answer).toMatchObject({ status: 404, body: { error: { code: 'resource_missing', param: 'id' } } });
    }
    expect((await stored()).rows).toEqual(before.rows);
  });
});

describe('rules with value lists', () => {
  it('a list change reaches the compiled rules, and a list a rule names cannot be deleted', async () => {
    const list = await t.stripe.radar.valueLists.create({ alias: 'trusted', name: 'Trusted', item_type: 'email' });
    const rule = await admin('POST', '', { rule: 'Allow if :email: in @trusted' });
    expect(rule.status).toBe(200);
    const trusted = { ...highest, email: 'VIP@shop.test' };
    await eventually(trusted, (action) => action === 'block');
    await t.stripe.radar.valueListItems.create({ value_list: list.id, value: 'vip@shop.test' });
    await eventually(trusted, (action) => action === 'allow');
    expect((await rules.verdict(merchant_id, trusted)).rule).toEqual({ id: rule.body.id, action: 'allow', predicate: ':email: in @trusted' });

    const refused = await rejection(t.stripe.radar.valueLists.del(list.id));
    expect(refused).toMatchObject({ code: 'parameter_invalid' });
    expect(refused.message).toContain(rule.body.id);
    await admin('DELETE', `/${rule.body.id}`);
    expect(await t.stripe.radar.valueLists.del(list.id)).toMatchObject({ deleted: true });
  });

  it('a list that vanished under a rule fails closed to review', async () => {
    const list = await t.stripe.radar.valueLists.create({ alias: 'vanishing', name: 'Vanishing', item_type: 'email' });
    const rule = await admin('POST', '', { rule: 'Allow if :email: in @vanishing' });
    // Behind the API's back, as a restore of an older backup might.
    await t.owner.query('DELETE FROM risk.value_lists WHERE id = $1', [list.id]);
    await eventually({ ...highest, risk_level: 'normal' }, (action) => action === 'review');
    const verdict = await rules.verdict(merchant_id, { ...highest, risk_level: 'normal' });
    expect(verdict).toMatchObject({ action: 'review', rule: { id: rule.body.id } });
    expect(verdict.error).toContain('@vanishing');
    await admin('DELETE', `/${rule.body.id}`);
  });
});

describe('the CLI', () => {
  async function cli(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
    const commands = radarCommands(async (work) => work({ pool: t.platform.database.pool } as Database));
    const spec = commands.find((c) => args.slice(0, 3).join(' ') === c.words.join(' '));
    if (!spec) throw new Error(`no command ${args.join(' ')}`);
    const rest = args.slice(3);
    const merchant_at = rest.indexOf('--merchant');
    const merchant = merchant_at >= 0 ? rest.splice(merchant_at, 2)[1] : undefined;
    let stdout = '';
    let stderr = '';
    const out = vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => ((stdout += String(chunk)), true));
    const err = vi.spyOn(process.stderr, 'write').mockImplementation((chunk) => ((stderr += String(chunk)), true));
    try {
      const code = (await spec.run({ merchant }, rest)) ?? -1;
      return { code, stdout, stderr };
    } finally {
      out.mockRestore();
      err.mockRestore();
    }
  }

  it('adds, lists, disables, enables and deletes rules, audited as the CLI', async () => {
    const added = await cli('radar', 'rules', 'add', '--merchant', merchant_id, 'Review if :card_country: != :ip_country:');
    expect(added).toMatchObject({ code: 0, stderr: '' });
    const id = /^(rule_\w+) +enabled +Review if :card_country: != :ip_country:\n$/.exec(added.stdout)?.[1] ?? '';
    expect(id).not.toBe('');
    const listed = await cli('radar', 'rules', 'list', '--merchant', merchant_id);
    expect(listed.stdout).toContain(`${DEFAULT_RULE_ID}  enabled   Block if :risk_level: = 'highest'  (default)`);
    expect(listed.stdout).toContain(`${id}  enabled   Review if :card_country: != :ip_country:`);
    expect((await cli('radar', 'rules', 'disable', '--merchant', merchant_id, id)).stdout).toMatch(new RegExp(`^${id} +disabled`));
    expect((await cli('radar', 'rules', 'enable', '--merchant', merchant_id, id)).stdout).toMatch(new RegExp(`^${id} +enabled`));
    expect((await cli('radar', 'rules', 'move', '--merchant', merchant_id, id, '1')).stdout).toMatch(new RegExp(`^${id} +enabled`));
    expect((await cli('radar', 'rules', 'list', '--merchant', merchant_id)).stdout).toMatch(new RegExp(`^${id} `));
    expect((await cli('radar', 'rules', 'delete', '--merchant', merchant_id, id)).stdout).toBe(`${id}  deleted\n`);
    expect((await auditRows(id)).map((row) => [row.type, row.actor])).toEqual([
      ['risk_rule.created', 'cli'],
      ['risk_rule.updated', 'cli'],
      ['risk_rule.updated', 'cli'],
      ['risk_rule.updated', 'cli'],
      ['risk_rule.deleted', 'cli'],
    ]);
  });

  it('a bad rule is one line naming the position, exit 1', async () => {
    const bad = await cli('radar', 'rules', 'add', '--merchant', merchant_id, 'Block if :risk_score: > ');
    expect(bad).toMatchObject({ code: 1, stdout: '' });
    expect(bad.stderr).toMatch(/^Invalid rule: expected .* at line 1, column 25 \(offset 24\)\.\n$/);
    await expect(cli('radar', 'rules', 'list')).rejects.toThrow('--merchant is required');
  });

  it('a merchant that does not exist is one line, exit 1, and nothing is stored', async () => {
    const before = await t.owner.query('SELECT count(*)::int AS n FROM risk.rules');
    const added = await cli('radar', 'rules', 'add', '--merchant', 'acct_ghost456', 'Block if :risk_score: > 75');
    expect(added).toMatchObject({ code: 1, stdout: '', stderr: "No such merchant: 'acct_ghost456'\n" });
    expect(await cli('radar', 'rules', 'disable', '--merchant', 'acct_ghost456', DEFAULT_RULE_ID)).toMatchObject({ code: 1, stdout: '' });
    expect((await t.owner.query('SELECT count(*)::int AS n FROM risk.rules')).rows).toEqual(before.rows);
  });
});
