import { execFile } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MigratedDatabase } from '../support/database.js';
import { createMigratedPool } from '../support/database.js';

/**
 * `payrail reconcile --date D` reconciles only a day that is over: a run of today's report so far
 * would stand for the whole day, and the scheduled reconciliation, which takes the settled days
 * nobody has reconciled, would never look at the day again.
 */
let db: MigratedDatabase;

beforeAll(async () => {
  db = await createMigratedPool(2);
});
afterAll(async () => {
  await db?.drop();
});

function cli(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['node_modules/vite-node/vite-node.mjs', 'src/cli.ts', ...args],
      { env: { ...process.env, DATABASE_URL: db.url }, timeout: 90_000 },
      (error, stdout, stderr) => resolve({ code: error ? Number(error.code ?? 1) : 0, stdout, stderr }),
    );
  });
}

describe('payrail reconcile --date', () => {
  it('refuses today and later days with exit 2 and keeps no run', { timeout: 120_000 }, async () => {
    const today = new Date().toISOString().slice(0, 10);
    const later = new Date(Date.now() + 40 * 86_400_000).toISOString().slice(0, 10);
    for (const day of [today, later]) {
      const refused = await cli('reconcile', '--date', day);
      expect(refused.code, refused.stdout).toBe(2);
      expect(refused.stderr).toContain('is not over yet');
    }
    expect((await db.pool.query('SELECT 1 FROM settlement.reconciliation_runs')).rowCount).toBe(0);
  });
});
