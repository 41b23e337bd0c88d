import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { Pool } from '../../src/platform/db.js';
import { combineWrites, run } from '../../src/platform/db.js';
import type { Database } from '../../src/platform/database.js';
import { recordDetokenization, recordSecurityEvent, securityEvent, verifyAuditLog } from '../../src/services/audit/index.js';
import { auditCommands } from '../../src/cli/audit.js';
import { createMigratedPool } from '../support/database.js';

let pool: Pool;
let drop: () => Promise<void>;
const MERCHANT = 'acct_AUDITTEST00000000000000001';
const actor = { type: 'api_key', id: 'key_01', request_id: 'req_01', client_ip: '203.0.113.9' } as const;
/** The head the first verify printed, kept "elsewhere" for the last test. */
let anchor = '';

beforeAll(async () => {
  ({ pool, drop } = await createMigratedPool(20));
  // 40 events written by 20 transactions at once: the chain must come out as one line.
  await Promise.all(
    Array.from({ length: 20 }, (_, i) =>
      run(
        pool,
        combineWrites([
          securityEvent({ type: 'refund.created', merchant_id: MERCHANT, object_id: `re_${i}`, actor, at_ms: 1_000 + i, data: { amount: i * 100 } }),
          securityEvent({ type: 'webhook_endpoint.created', merchant_id: MERCHANT, object_id: `we_${i}`, actor, at_ms: 1_000 + i }),
        ]),
      ),
    ),
  );
});
afterAll(async () => {
  await drop();
});

/** Changes rows as someone with the database's superuser would: with the append-only triggers off. */
async function tamper(statement: string): Promise<void> {
  const client = await pool.connect();
  try {
    await client.query(`SET session_replication_role = replica; ${statement}; SET session_replication_role = origin`);
  } finally {
    client.release();
  }
}

async function verifyCli(values: { anchor?: string } = {}): Promise<{ code: number | null; output: string }> {
  const written: string[] = [];
  const spy = vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => written.push(String(chunk)) > 0);
  try {
    const [verify] = auditCommands((work) => work({ pool } as Database));
    const code = await verify?.run(values, []);
    return { code: code ?? null, output: written.join('') };
  } finally {
    spy.mockRestore();
  }
}

describe('the security audit log', () => {
  it('chains concurrent writers into one unbroken, numbered line', async () => {
    const report = await verifyAuditLog(pool);
    expect(report).toMatchObject({ rows: 40, findings: [], head: { seq: '40' } });
    const seqs = (await pool.query<{ seq: string }>('SELECT seq FROM audit.security_events ORDER BY seq')).rows.map((row) => Number(row.seq));
    expect(seqs).toEqual(Array.from({ length: 40 }, (_, i) => i + 1));
    const cli = await verifyCli();
    expect(cli).toEqual({ code: 0, output: expect.stringMatching(/^audit log intact: 40 rows, head 40:[0-9a-f]{64}\n$/) as unknown });
    anchor = cli.output.trim().split(' ').at(-1) ?? '';
  });

  it('refuses updates and deletes from the roles the app connects as', async () => {
    await expect(pool.query(`UPDATE audit.security_events SET data = '{}' WHERE seq = 1`)).rejects.toThrow(/append-only/);
    await expect(pool.query('DELETE FROM audit.security_events WHERE seq = 1')).rejects.toThrow(/append-only/);
    await expect(pool.query('DELETE FROM audit.detokenizations')).rejects.toThrow(/append-only/);
  });

  it('detects an edited row', async () => {
    const original = (await pool.query<{ data: string }>('SELECT data FROM audit.security_events WHERE seq = 7')).rows[0]?.data;
    await tamper(`UPDATE audit.security_events SET data = '{"amount":1}' WHERE seq = 7`);
    expect((await verifyAuditLog(pool)).findings).toEqual([{ seq: '7', problem: expect.stringMatching(/edited/) as unknown }]);
    const cli = await verifyCli();
    expect(cli.code).toBe(1);
    expect(cli.output).toMatch(/^row 7: .*edited.*\naudit log BROKEN \(1 findings\)/);
    await tamper(`UPDATE audit.security_events SET data = '${original}' WHERE seq = 7`);
    expect((await verifyAuditLog(pool)).findings).toEqual([]);
  });

  it('detects an edited actor, even one re-hashed in place', async () => {
    await tamper(`UPDATE audit.security_events SET client_ip = '198.51.100.1' WHERE seq = 12`);
    await tamper(`UPDATE audit.security_events e SET hash = encode(sha256(convert_to(audit.entry_text(e), 'UTF8')), 'hex') WHERE seq = 12`);
    const findings = (await verifyAuditLog(pool)).findings;
    expect(findings).toEqual([{ seq: '13', problem: expect.stringMatching(/does not link/) as unknown }]);
    await tamper(`UPDATE audit.security_events SET client_ip = '203.0.113.9' WHERE seq = 12`);
    await tamper(`UPDATE audit.security_events e SET hash = encode(sha256(convert_to(audit.entry_text(e), 'UTF8')), 'hex') WHERE seq = 12`);
    expect((await verifyAuditLog(pool)).findings).toEqual([]);
  });

  it('detects a deleted row, in the middle or at the end', async () => {
    await tamper(`CREATE TEMP TABLE saved AS SELECT * FROM audit.security_events WHERE seq IN (20, 40)`);
    await tamper('DELETE FROM audit.security_events WHERE seq = 20');
    const middle = (await verifyAuditLog(pool)).findings;
    expect(middle.map((finding) => finding.seq)).toEqual(['21', '21']);
    expect(middle[0]?.problem).toMatch(/rows 20 to 20 are missing/);
    await tamper('INSERT INTO audit.security_events SELECT * FROM saved WHERE seq = 20');
    await tamper('DELETE FROM audit.security_events WHERE seq = 40');
    expect((await verifyAuditLog(pool)).findings).toEqual([{ seq: '40', problem: expect.stringMatching(/ends at row 39/) as unknown }]);
    await tamper('INSERT INTO audit.security_events SELECT * FROM saved WHERE seq = 40');
    expect((await verifyAuditLog(pool)).findings).toEqual([]);
  });

  it('detects reordered rows', async () => {
    await tamper('UPDATE audit.security_events SET seq = -30 WHERE seq = 30');
    await tamper('UPDATE audit.security_events SET seq = 30 WHERE seq = 31');
    await tamper('UPDATE audit.security_events SET seq = 31 WHERE seq = -30');
    const findings = (await verifyAuditLog(pool)).findings;
    expect(findings.map((finding) => finding.seq)).toEqual(expect.arrayContaining(['30', '31']));
    expect(findings.some((finding) => /does not link/.test(finding.problem))).toBe(true);
  });

  it('records detokenizations with their actor, on their own', async () => {
    await recordDetokenization(pool, { merchant_id: MERCHANT, payment_method_id: 'pm_1', purpose: 'authorize', reference_id: 'ch_1', actor, at_ms: 5 });
    const row = (
      await pool.query('SELECT merchant_id, payment_method_id, reference_id, actor_type, actor_id, request_id, client_ip FROM audit.detokenizations')
    ).rows[0] as unknown;
    expect(row).toEqual({
      merchant_id: MERCHANT,
      payment_method_id: 'pm_1',
      reference_id: 'ch_1',
      actor_type: 'api_key',
      actor_id: 'key_01',
      request_id: 'req_01',
      client_ip: '203.0.113.9',
    });
    await recordSecurityEvent(pool, { type: 'risk_rule.updated', merchant_id: null, object_id: null, actor: { type: 'system' }, at_ms: 6 });
  });

  it('detects a chain rewritten consistently from the start only against an anchor kept elsewhere', async () => {
    await tamper(`UPDATE audit.security_events SET data = '{"amount":999999}' WHERE seq = 3`);
    await tamper(`DO $$
      DECLARE
        r audit.security_events;
        prev text := (SELECT hash FROM audit.security_events WHERE seq = 2);
      BEGIN
        FOR r IN SELECT * FROM audit.security_events WHERE seq >= 3 ORDER BY seq LOOP
          r.prev_hash := prev;
          r.hash := encode(sha256(convert_to(audit.entry_text(r), 'UTF8')), 'hex');
          UPDATE audit.security_events SET prev_hash = r.prev_hash, hash = r.hash WHERE seq = r.seq;
          prev := r.hash;
        END LOOP;
        UPDATE audit.chain_head SET hash = prev;
      END $$`);
    // Rewritten by someone with the owner's rights, the chain is consistent in itself…
    expect((await verifyAuditLog(pool)).findings).toEqual([]);
    // …but no longer passes through the head printed earlier.
    const cli = await verifyCli({ anchor });
    expect(cli.code).toBe(1);
    expect(cli.output).toMatch(/^row 40: the anchored row has another hash: the chain was rewritten up to it\n/);
  });
});
