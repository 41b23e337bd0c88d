import { execFile, spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { freePort } from './processes.js';

/**
 * The database cluster of deploy/ha/cluster.sh (etcd, two Patroni nodes, HAProxy) on free ports under
 * a temp dir, for the failover drill: who leads, and the faults a node's host can suffer.
 */
const CLUSTER_SCRIPT = 'deploy/ha/cluster.sh';
const PASSWORD = 'payrail-ha-drill';
const POLL_MS = 200;
const REST_TIMEOUT_MS = 1_000;
/** How long a started cluster may take to have a leader, its synchronous standby and a writable HAProxy route. */
const READY_MAX_MS = 90_000;

export type NodeName = 'node1' | 'node2';
export const NODES: readonly NodeName[] = ['node1', 'node2'];

interface Ports {
  etcd: number;
  etcd_peer: number;
  haproxy: number;
  haproxy_read: number;
  pg: Record<NodeName, number>;
  rest: Record<NodeName, number>;
}

export class HaCluster {
  private constructor(
    private readonly dir: string,
    private readonly ports: Ports,
  ) {}

  static async start(): Promise<HaCluster> {
    const dir = mkdtempSync(join(tmpdir(), 'payrail-ha-'));
    if (process.getuid?.() === 0) chmodSync(dir, 0o711); // PostgreSQL runs as `postgres` under root
    const cluster = new HaCluster(dir, await allocatePorts());
    try {
      await promisify(execFile)(CLUSTER_SCRIPT, ['start'], { env: cluster.env() });
      // The script returns once Patroni answers; on a loaded machine the nodes may still be settling
      // (a bootstrap restart, the standby's first sync), and HAProxy then drops what it accepted.
      await cluster.waitForHealthy(READY_MAX_MS);
      await poll('writes through HAProxy', READY_MAX_MS, () => cluster.writable());
    } catch (error) {
      await cluster.stop(); // nothing of a half-started cluster outlives the test
      throw error;
    }
    return cluster;
  }

  /** Through HAProxy to whichever node leads: what Payrail's DATABASE_URL is. */
  url(database: string): string {
    return `postgres://postgres:${PASSWORD}@127.0.0.1:${this.ports.haproxy}/${database}`;
  }

  /** Straight to one node, bypassing HAProxy (to inspect the new primary itself). */
  nodeUrl(node: NodeName, database: string): string {
    return `postgres://postgres:${PASSWORD}@127.0.0.1:${this.ports.pg[node]}/${database}`;
  }

  /** Through HAProxy to a running standby (reads that may be stale). */
  readUrl(database: string): string {
    return `postgres://postgres:${PASSWORD}@127.0.0.1:${this.ports.haproxy_read}/${database}`;
  }

  /** The node whose Patroni answers /primary with 200 (holds the leader key and runs as primary). */
  async leader(): Promise<NodeName | undefined> {
    for (const node of NODES) if (await this.answers(node, '/primary')) return node;
    return undefined;
  }

  async waitForLeaderOtherThan(old: NodeName, timeout_ms: number): Promise<NodeName> {
    return poll(`a leader other than ${old}`, timeout_ms, async () => {
      const leader = await this.leader();
      return leader !== old ? leader : undefined;
    });
  }

  /** True when a session through HAProxy lands on a primary; undefined (try again) otherwise. */
  private async writable(): Promise<true | undefined> {
    const client = new pg.Client({ connectionString: this.url('postgres'), connectionTimeoutMillis: REST_TIMEOUT_MS });
    client.on('error', () => {}); // a backend HAProxy or Patroni drops meanwhile: just not ready yet
    try {
      await client.connect();
      const result = await client.query<{ primary: boolean }>('SELECT NOT pg_is_in_recovery() AS primary');
      return result.rows[0]?.primary === true ? true : undefined;
    } catch {
      return undefined;
    } finally {
      await client.end().catch(() => {});
    }
  }

  /** Both nodes running, one leading and the other its synchronous standby: ready for the next fault. */
  async waitForHealthy(timeout_ms: number): Promise<NodeName> {
    return poll('a leader with a synchronous standby', timeout_ms, async () => {
      const leader = await this.leader();
      const standby = NODES.find((node) => node !== leader);
      return leader && standby && (await this.answers(standby, '/sync')) ? leader : undefined;
    });
  }

  /** The postmaster dies at once (a crash of PostgreSQL on that host); Patroni on the node lives on. */
  killPostmaster(node: NodeName): void {
    process.kill(this.postmasterPid(node), 'SIGKILL');
  }

  /**
   * The node's host stalls (a network partition or a hung VM): Patroni, the postmaster and every
   * backend stop answering without closing a socket. Answers what `thaw` resumes.
   */
  freeze(node: NodeName): number[] {
    const patroni = Number(readFileSync(join(this.home, node, 'patroni.pid'), 'utf8'));
    const postmaster = this.postmasterPid(node);
    process.kill(patroni, 'SIGSTOP');
    process.kill(postmaster, 'SIGSTOP'); // first, so it forks no backend we would miss
    const backends = childrenOf(postmaster);
    for (const pid of backends) process.kill(pid, 'SIGSTOP');
    return [patroni, postmaster, ...backends];
  }

  thaw(pids: readonly number[]): void {
    for (const pid of pids) {
      try {
        process.kill(pid, 'SIGCONT');
      } catch {
        // a backend Patroni's demotion already ended
      }
    }
  }

  async stop(): Promise<void> {
    await promisify(execFile)(CLUSTER_SCRIPT, ['clean'], { env: this.env() }).catch(() => {});
    rmSync(this.dir, { recursive: true, force: true });
  }

  /** The cluster's HA_DIR (cluster.sh keeps each node's data and pid files there). */
  private get home(): string {
    return join(this.dir, 'cluster');
  }

  private postmasterPid(node: NodeName): number {
    return Number(readFileSync(join(this.home, node, 'data', 'postmaster.pid'), 'utf8').split('\n', 1)[0]);
  }

  private async answers(node: NodeName, path: string): Promise<boolean> {
    return fetch(`http://127.0.0.1:${this.ports.rest[node]}${path}`, { signal: AbortSignal.timeout(REST_TIMEOUT_MS) }).then(
      (response) => response.status === 200,
      () => false,
    );
  }

  private env(): NodeJS.ProcessEnv {
    const { ports } = this;
    return {
      ...process.env,
      HA_DIR: this.home,
      HA_PASSWORD: PASSWORD,
      HA_ETCD_PORT: String(ports.etcd),
      HA_ETCD_PEER_PORT: String(ports.etcd_peer),
      HA_HAPROXY_PORT: String(ports.haproxy),
      HA_HAPROXY_READ_PORT: String(ports.haproxy_read),
      HA_PG_PORT_1: String(ports.pg.node1),
      HA_PG_PORT_2: String(ports.pg.node2),
      HA_REST_PORT_1: String(ports.rest.node1),
      HA_REST_PORT_2: String(ports.rest.node2),
    };
  }
}

/** Distinct free ports for every listener of the cluster. */
async function allocatePorts(): Promise<Ports> {
  const taken = new Set<number>();
  const next = async (): Promise<number> => {
    for (;;) {
      const port = await freePort();
      if (!taken.has(port)) return (taken.add(port), port);
    }
  };
  return {
    etcd: await next(),
    etcd_peer: await next(),
    haproxy: await next(),
    haproxy_read: await next(),
    pg: { node1: await next(), node2: await next() },
    rest: { node1: await next(), node2: await next() },
  };
}

function childrenOf(pid: number): number[] {
  // ps exits 1 when there is none.
  const out = spawnSync('ps', ['-o', 'pid=', '--ppid', String(pid)], { encoding: 'utf8' }).stdout.trim();
  return out === '' ? [] : out.split(/\s+/).map(Number);
}

async function poll<T>(what: string, timeout_ms: number, probe: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + timeout_ms;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeout_ms} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
}
