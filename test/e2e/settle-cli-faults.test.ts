import { execFile } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/kernel/clock.js';
import type { TestPlatform } from '../support/platform.js';
import { startTestPlatform } from '../support/platform.js';
import { ledgerCaughtUp } from '../support/payouts.js';

/**
 * With the sandbox's test-mode fault knob (PAYRAIL_SANDBOX_DISCREPANCIES) set, `payrail settle --date`
 * reads the same faulty report the server's daily run imported, so settling the day again changes
 * nothing, as without the knob (docs/settlement.md).
 */
const DAY_MS = 86_400_000;
const FAULTS = 'seed=settle-cli,fee_mismatch_small=1000000';
const clock = new ManualClock(Date.UTC(2026, 10, 2, 10));
let t: TestPlatform;
const knob = process.env.PAYRAIL_SANDBOX_DISCREPANCIES;

beforeAll(async () => {
  process.env.PAYRAIL_SANDBOX_DISCREPANCIES = FAULTS; // read by the platform as it starts
  t = await startTestPlatform({}, { clock });
});
afterAll(async () => {
  if (knob === undefined) delete process.env.PAYRAIL_SANDBOX_DISCREPANCIES;
  else process.env.PAYRAIL_SANDBOX_DISCREPANCIES = knob;
  await t?.stop();
});

function cli(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['node_modules/vite-node/vite-node.mjs', 'src/cli.ts', ...args],
      { env: { ...process.env, DATABASE_URL: t.config.database_url, PAYRAIL_SANDBOX_DISCREPANCIES: FAULTS }, timeout: 90_000 },
      (error, stdout, stderr) => resolve({ code: error ? Number(error.code ?? 1) : 0, stdout, stderr }),
    );
  });
}

describe('payrail settle with the sandbox fault knob', () => {
  it('settles a day the server settled again with no second effect', { timeout: 120_000 }, async () => {
    for (const amount of [1_000, 2_500]) await t.stripe.paymentIntents.create({ amount, currency: 'usd', payment_method: 'pm_card_visa', confirm: true });
    await ledgerCaughtUp(t);
    clock.advance(DAY_MS);
    const [day] = await t.platform.settlement.runDue();
    expect(day?.report?.lines).toBe(3);
    const again = await cli('settle', '--date', '2026-11-02');
    expect(again.stderr).toBe('');
    expect(again.code).toBe(0);
    expect(again.stdout).toContain('3 lines (imported before)');
  });
});
