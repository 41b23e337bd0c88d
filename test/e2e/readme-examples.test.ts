import { execFile } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestPlatform } from '../support/platform.js';
import { startTestPlatform } from '../support/platform.js';

/** The README's examples, run as printed; only the port is swapped for this test server's. */
const run = promisify(execFile);
const README = readFileSync('README.md', 'utf8');
const README_KEY = 'sk_test_payrailQuickstart0000001';

function example(name: string): string {
  const match = new RegExp(`<!-- example:${name} -->\\n\`\`\`\\w+\\n([\\s\\S]*?)\`\`\``).exec(README);
  if (!match?.[1]) throw new Error(`README has no example:${name} block`);
  return match[1];
}

let t: TestPlatform;
let port: string;
beforeAll(async () => {
  t = await startTestPlatform({ bootstrap_secret_key: README_KEY });
  port = new URL(t.url).port;
});
afterAll(async () => {
  await t?.stop();
});

describe('README examples', () => {
  it('the curl example confirms a payment', async () => {
    const script = example('curl').replaceAll('127.0.0.1:4242', `127.0.0.1:${port}`);
    const { stdout } = await run('bash', ['-c', script]);
    const intent = JSON.parse(stdout) as { status: string; amount_received: number };
    expect(intent.status).toBe('succeeded');
    expect(intent.amount_received).toBe(2000);
  });

  it('the SDK example pays and refunds', async () => {
    const file = `readme-example-${process.pid}.mjs`;
    writeFileSync(file, example('sdk').replace('port: 4242', `port: ${port}`));
    try {
      const { stdout } = await run(process.execPath, [file]);
      expect(stdout).toMatch(/^pi_\w+ succeeded\nsucceeded\n$/);
    } finally {
      rmSync(file, { force: true });
    }
  });
});
