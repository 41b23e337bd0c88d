import { execFile } from 'node:child_process';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/platform/config.js';
import { DEFAULT_HEAP_GROWTH_PERCENT } from '../../src/platform/heap-growth.js';
import { exitCodeWithin, freePort, serverEnv, spawnServer } from '../support/processes.js';

/**
 * PAYRAIL_HEAP_GROWTH_PERCENT (docs/operations.md, "Memory"): how far V8 lets old space grow past the
 * live heap before collecting it. A child process runs the built `limitHeapGrowth` (dist/, which
 * `npm test` builds) against the pattern that made the API's peak: a live set, and short-lived objects
 * that outlive a young-generation collection and so are promoted, then die.
 */
const HEAP_MODULE = pathToFileURL(resolve('dist/platform/heap-growth.js')).href;
const CHURN = `
import v8 from 'node:v8';
import { limitHeapGrowth } from ${JSON.stringify(HEAP_MODULE)};
limitHeapGrowth(Number(process.argv[1]));
const live = Array.from({ length: 40_000 }, (_, i) => 'x'.repeat(1_000) + i);
const recent = new Array(100_000);
let peak = 0;
for (let i = 0; i < 4_000_000; i++) {
  recent[i % recent.length] = { id: i, body: 'y'.repeat(200) + i };
  if (i % 2_000 === 0) peak = Math.max(peak, v8.getHeapStatistics().total_heap_size);
}
process.stdout.write(JSON.stringify({ kept: live.length, peak_mb: peak / 1e6 }));
`;
const MB_PER_LIVE_SET = 70;

async function churnPeak_mb(percent: number): Promise<number> {
  const { stdout } = await promisify(execFile)(process.execPath, ['--input-type=module', '-e', CHURN, String(percent)]);
  return (JSON.parse(stdout) as { peak_mb: number }).peak_mb;
}

describe('heap growth', () => {
  it('defaults to 50 %, and takes 0 (V8 decides) up to 400', () => {
    expect(loadConfig({}).heap_growth_percent).toBe(DEFAULT_HEAP_GROWTH_PERCENT);
    expect(DEFAULT_HEAP_GROWTH_PERCENT).toBe(50);
    expect(loadConfig({ PAYRAIL_HEAP_GROWTH_PERCENT: '0' }).heap_growth_percent).toBe(0);
    expect(loadConfig({ PAYRAIL_HEAP_GROWTH_PERCENT: '400' }).heap_growth_percent).toBe(400);
    expect(() => loadConfig({ PAYRAIL_HEAP_GROWTH_PERCENT: '401' })).toThrow('PAYRAIL_HEAP_GROWTH_PERCENT must be at most 400');
    expect(() => loadConfig({ PAYRAIL_HEAP_GROWTH_PERCENT: '1.5' })).toThrow('PAYRAIL_HEAP_GROWTH_PERCENT must be a non-negative integer');
  });

  it('at 50 % the heap peaks near 1.5 × the live set plus the young generation; left to V8 it reaches over 4 ×', { timeout: 60_000 }, async () => {
    const [limited, unlimited] = await Promise.all([churnPeak_mb(DEFAULT_HEAP_GROWTH_PERCENT), churnPeak_mb(0)]);
    expect(limited).toBeLessThan(2.5 * MB_PER_LIVE_SET);
    expect(unlimited).toBeGreaterThan(3.5 * MB_PER_LIVE_SET);
  });

  it('a server refuses to start with a setting out of range, saying which', async () => {
    const port = await freePort();
    const env = serverEnv({ port, database_url: '', data_dir: '', secret_key: 'sk_test_payrailHeapGrowth000000001' }, { PAYRAIL_HEAP_GROWTH_PERCENT: '1000' });
    const server = await spawnServer(env);
    expect(await exitCodeWithin(server.child, 30_000)).toBe(1);
    expect(server.output()).toContain('could not start: Setting PAYRAIL_HEAP_GROWTH_PERCENT must be at most 400, got "1000"');
  });
});
