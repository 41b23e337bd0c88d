import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import pg from 'pg';

/** The chaos suite's handle on deploy/local/topology.sh: start, kill and restart its components. */

const run = promisify(execFile);
const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const SCRIPT = join(ROOT, 'deploy', 'local', 'topology.sh');
/** topology.sh's own start bound (LOCAL_START_TIMEOUT_S, default 120 s), with a minute to spare for the rest. */
const COMMAND_TIMEOUT_MS = (Number(process.env.LOCAL_START_TIMEOUT_S ?? 120) + 60) * 1000;

export function localTopology(dir, port_base) {
  const env = { ...process.env, LOCAL_PORT_BASE: String(port_base) };
  const topology = (...args) => run(SCRIPT, args, { env, cwd: ROOT, timeout: COMMAND_TIMEOUT_MS }).then((result) => result.stdout);
  const settings = () =>
    Object.fromEntries(
      readFileSync(join(dir, 'env'), 'utf8')
        .trim()
        .split('\n')
        .map((line) => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)]),
    );
  const pidOf = (name) => {
    try {
      return Number(readFileSync(join(dir, `${name}.pid`), 'utf8').trim());
    } catch {
      return undefined;
    }
  };
  return {
    api_url: `http://127.0.0.1:${port_base}`,
    /** api-N's own port, past HAProxy (topology.sh: API processes from port_base + 10). */
    replicaUrl: (index) => `http://127.0.0.1:${port_base + 10 + index - 1}`,
    /** The NATS nodes' monitoring endpoints (/jsz, /healthz). */
    nats_monitor_urls: [0, 1, 2].map((index) => `http://127.0.0.1:${port_base + 50 + index}`),
    up: () => topology('up', dir),
    down: () => topology('down', dir),
    start: (name) => topology('start', name, dir),
    kill: (name) => topology('kill', name, dir),
    components: async () => (await topology('components', dir)).trim().split('\n'),
    settings,
    pidOf,
    /** The Payrail process holding the relay's leadership lock (a PostgreSQL advisory lock). */
    async relayLeader(candidates) {
      const pool = new pg.Pool({ connectionString: settings().DATABASE_URL, max: 1 });
      try {
        const { rows } = await pool.query(
          `SELECT a.client_port FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
            WHERE l.locktype = 'advisory' AND l.granted AND a.datname = current_database()
              AND ((l.classid::bigint << 32) | l.objid::bigint) =
                  hashtextextended('payrail.relay:PAYRAIL_EVENTS_' || upper((SELECT id FROM events.installation)), 0)`,
        );
        const port = rows[0]?.client_port;
        if (port === undefined) return undefined;
        const { stdout } = await run('ss', ['-Htnp', 'src', `127.0.0.1:${port}`]);
        const pid = Number(/pid=(\d+)/.exec(stdout)?.[1]);
        return candidates.find((name) => pidOf(name) === pid);
      } finally {
        await pool.end();
      }
    },
  };
}
