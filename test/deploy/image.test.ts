import { execFile, execFileSync, spawnSync } from 'node:child_process';
import { promisify } from 'node:util';
import { resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestDatabase } from '../support/database.js';
import { createTestDatabase } from '../support/database.js';
import { freePort } from '../support/processes.js';

/**
 * The Dockerfile, built and run with podman (`npm run test:image`; not in the default suite, since
 * it needs podman, debootstrap and root: docs/deployment.md, "Docker"). This machine reaches no
 * container registry, so NODE_IMAGE is a stand-in made from Debian packages and this machine's Node
 * 20 (support/node-base-image.sh). The container runs as Kubernetes runs it: read-only root, /tmp a
 * tmpfs, no capabilities, then serves a payment and the dashboard, reports healthy and stops cleanly
 * on SIGTERM.
 */
const ROOT = resolve(import.meta.dirname, '../..');
const IMAGE = 'localhost/payrail:image-test';
const BUILD_TIMEOUT_MS = 15 * 60_000;
const READY_TIMEOUT_MS = 90_000;
const STOP_TIMEOUT_S = 30;
const SECRET_KEY = 'sk_test_payrailImageTest0000000000001';
/**
 * This machine's kernel refuses raising a container's open-file and process limits (no
 * CAP_SYS_RESOURCE), which crun always tries and runc does only to the values asked for.
 */
const RUNTIME_FLAGS = ['--runtime', 'runc', '--ulimit', 'nofile=4096:4096', '--ulimit', 'nproc=4096:4096'];

function podman(args: string[], timeout_ms = 60_000): string {
  return execFileSync('podman', args, { cwd: ROOT, encoding: 'utf8', timeout: timeout_ms, stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 64 * 1024 * 1024 });
}

let database: TestDatabase;
let container: string | undefined;

beforeAll(async () => {
  // Asynchronously: minutes of a blocked event loop would cut the worker's line to Vitest.
  const run = promisify(execFile);
  const base = (await run('bash', [resolve(ROOT, 'test/deploy/support/node-base-image.sh')], { timeout: BUILD_TIMEOUT_MS })).stdout.trim();
  const build = ['build', ...RUNTIME_FLAGS, '--format', 'docker', '--build-arg', `NODE_IMAGE=${base}`, '-t', IMAGE, '.'];
  await run('podman', build, { cwd: ROOT, timeout: BUILD_TIMEOUT_MS, maxBuffer: 64 * 1024 * 1024 });
  database = await createTestDatabase();
}, 2 * BUILD_TIMEOUT_MS);

afterAll(async () => {
  if (container) spawnSync('podman', ['rm', '-f', container], { timeout: 60_000 });
  await database?.drop();
});

describe('the container image', () => {
  it('runs as the non-root user 10001 with a health check, and carries neither dev dependencies nor local files', () => {
    const [image] = JSON.parse(podman(['image', 'inspect', IMAGE])) as Array<{ Config: { User: string; Env: string[] }; Healthcheck?: { Test: string[] } }>;
    expect(image!.Config.User).toBe('10001:10001');
    expect(image!.Healthcheck?.Test.join(' ')).toContain('/healthz');
    expect(image!.Config.Env.map((e) => e.slice(0, e.indexOf('=')))).not.toEqual(expect.arrayContaining(['DATABASE_URL']));
    expect(podman(['run', '--rm', ...RUNTIME_FLAGS, IMAGE, 'id', '-u']).trim()).toBe('10001');
    const listing = podman(['run', '--rm', ...RUNTIME_FLAGS, IMAGE, 'ls', '-A', '/app', '/app/node_modules']);
    for (const absent of ['.payrail', '.git', '.env', 'test', 'src', 'typescript', 'vitest']) expect(listing.split('\n')).not.toContain(absent);
    for (const present of ['dist', 'bin', 'browser', 'data', 'fastify', 'pg']) expect(listing.split('\n')).toContain(present);
  });

  it(
    'serves a payment read-only, reports healthy, and stops cleanly on SIGTERM',
    async () => {
      const port = await freePort();
      const metrics_port = await freePort();
      container = podman([
      'run', '-d', ...RUNTIME_FLAGS, '--network', 'host', '--read-only', '--tmpfs', '/tmp', '--cap-drop', 'ALL', '--security-opt', 'no-new-privileges',
      '-e', `DATABASE_URL=${database.url}`, '-e', `PORT=${port}`, '-e', `PAYRAIL_METRICS_PORT=${metrics_port}`,
      '-e', 'HOST=127.0.0.1', '-e', `PAYRAIL_BOOTSTRAP_SECRET_KEY=${SECRET_KEY}`, IMAGE,
    ]).trim(); // prettier-ignore
      const base = `http://127.0.0.1:${port}`;
      await waitForReady(`${base}/readyz`);

      const paid = await fetch(`${base}/v1/payment_intents`, {
        method: 'POST',
        headers: { authorization: `Bearer ${SECRET_KEY}`, 'content-type': 'application/x-www-form-urlencoded' },
        body: 'amount=2000&currency=usd&payment_method=pm_card_visa&confirm=true',
      });
      expect(paid.status).toBe(200);
      expect(((await paid.json()) as { status: string }).status).toBe('succeeded');
      expect(spawnSync('podman', ['healthcheck', 'run', container], { timeout: 30_000 }).status).toBe(0);
      const dashboard = await fetch(`${base}/dashboard/`);
      expect(dashboard.status).toBe(200);
      expect(await dashboard.text()).toMatch(/<html/i);

      podman(['stop', '--time', String(STOP_TIMEOUT_S), container], (STOP_TIMEOUT_S + 30) * 1000);
      expect(podman(['inspect', container, '--format', '{{.State.ExitCode}}']).trim()).toBe('0');
    },
    READY_TIMEOUT_MS + 120_000,
  );
});

async function waitForReady(url: string): Promise<void> {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  for (;;) {
    const status = await fetch(url).then(
      (r) => r.status,
      () => 0,
    );
    if (status === 200) return;
    if (Date.now() > deadline)
      throw new Error(`${url} not ready within ${READY_TIMEOUT_MS} ms (last status ${status}); logs:\n${podman(['logs', '--tail', '40', container!])}`);
    await new Promise((done) => setTimeout(done, 500));
  }
}
