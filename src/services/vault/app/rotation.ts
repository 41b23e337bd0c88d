import type { Pool } from '../../../platform/db.js';
import { run, sql } from '../../../platform/db.js';
import type { KeyPurpose, Kms } from '../domain/kms.js';

/**
 * `payrail keys rotate`: a new version of each purpose's key-encryption key, then every stored data
 * key of that purpose rewrapped under it, in batches, while servers keep running (they wrap new data
 * keys under the latest version, and open both while the rewrap runs). Where each target's rewrap got
 * to is saved after every batch in `vault.key_rotations`, so a run that dies resumes there. Once a
 * full pass finds nothing left to rewrap, the old versions are retired: they stop decrypting.
 */

/** One stored data key, as a rotation sees it. */
export interface RewrapRow {
  /** Position in the target's fixed order (a rotation resumes after it). */
  cursor: string;
  /** Its key version under the current KMS; 0 when sealed before the KMS or by another KMS. */
  version: number;
  /** For `keys status`: `vault:v2`, `dev:v1`, or `before the KMS`. */
  label: string;
}

/** A place where data keys of one purpose are stored (cards, the fingerprint key, webhook secrets). */
export interface RewrapTarget<R extends RewrapRow = RewrapRow> {
  name: string;
  purpose: KeyPurpose;
  page(cursor: string, limit: number): Promise<R[]>;
  /** Rewraps the rows under the latest version, storing each unless it changed meanwhile; returns rows stored. */
  rewrap(rows: R[]): Promise<number>;
}

export interface RotationOptions {
  purposes: readonly KeyPurpose[];
  batch_size: number;
  /** Pause between batches, to spread the load on a busy database. */
  pause_ms: number;
  /** Old versions retire no sooner than this after the rotation: longer than a request holds an unstored data key. */
  settle_ms: number;
  now_ms: () => number;
  report: (line: string) => void;
  /** Records each key version made or retired (the security audit log), before going on. */
  audit: (event: KeyEvent) => Promise<void>;
}

/** A change of key versions, as the audit log keeps it: no key material. */
export interface KeyEvent {
  type: 'key.rotated' | 'key.retired';
  purpose: KeyPurpose;
  /** The new latest version, or the lowest that still decrypts. */
  version: number;
  rewrapped?: number;
}

export interface RotationResult {
  purpose: KeyPurpose;
  to_version: number;
  rewrapped: number;
}

interface RotationRow {
  id: string;
  to_version: number;
  cursors: Record<string, string>;
  rotated_ms: string;
}

/** Only one rotation at a time (a session lock: it goes with the process that holds it). */
const ROTATION_LOCK_KEY = 'payrail keys rotate';
/** Passes over every target after the first, before giving up on stragglers still arriving under an old version. */
const MAX_VERIFY_PASSES = 5;

export class RotationBusyError extends Error {
  override name = 'RotationBusyError';
}

export async function rotateKeys(pool: Pool, kms: Kms, targets: readonly RewrapTarget[], options: RotationOptions): Promise<RotationResult[]> {
  const lock = await pool.connect();
  try {
    const held = await lock.query<{ ok: boolean }>('SELECT pg_try_advisory_lock(hashtext($1)) AS ok', [ROTATION_LOCK_KEY]);
    if (!held.rows[0]?.ok) throw new RotationBusyError('another payrail keys rotate is running');
    const results: RotationResult[] = [];
    for (const purpose of options.purposes) {
      results.push(
        await rotatePurpose(
          pool,
          kms,
          purpose,
          targets.filter((target) => target.purpose === purpose),
          options,
        ),
      );
    }
    return results;
  } finally {
    await lock.query('SELECT pg_advisory_unlock(hashtext($1))', [ROTATION_LOCK_KEY]).catch(() => undefined);
    lock.release();
  }
}

async function rotatePurpose(pool: Pool, kms: Kms, purpose: KeyPurpose, targets: readonly RewrapTarget[], options: RotationOptions): Promise<RotationResult> {
  let rotation = await runningRotation(pool, purpose);
  if (rotation) {
    options.report(`${purpose}: resuming the rewrap to key version ${rotation.to_version}`);
  } else {
    const status = await kms.rotate(purpose);
    rotation = await startRotation(pool, purpose, status.latest_version, options.now_ms());
    await options.audit({ type: 'key.rotated', purpose, version: status.latest_version });
    options.report(`${purpose}: key rotated to version ${status.latest_version}`);
  }
  let rewrapped = 0;
  for (let pass = 0; ; pass++) {
    let written = 0;
    for (const target of targets) written += await rewrapTarget(pool, rotation, target, options);
    rewrapped += written;
    const settle_left_ms = Number(rotation.rotated_ms) + options.settle_ms - options.now_ms();
    if (written === 0 && pass > 0 && settle_left_ms <= 0) break;
    if (pass >= MAX_VERIFY_PASSES) throw new Error(`${purpose}: data keys under old versions keep arriving; is a server running with an old key file?`);
    if (settle_left_ms > 0) await sleep(settle_left_ms);
    rotation = await restartPass(pool, rotation);
  }
  const status = await kms.retire(purpose, rotation.to_version);
  await options.audit({ type: 'key.retired', purpose, version: status.min_decryption_version, rewrapped });
  await run(pool, sql`UPDATE vault.key_rotations SET state = 'retired', finished_ms = ${options.now_ms()} WHERE id = ${rotation.id}`);
  options.report(`${purpose}: versions below ${status.min_decryption_version} retired`);
  return { purpose, to_version: rotation.to_version, rewrapped };
}

/** Rewraps one target from its saved cursor to its end; returns rows rewrapped. */
async function rewrapTarget(pool: Pool, rotation: RotationRow, target: RewrapTarget, options: RotationOptions): Promise<number> {
  let cursor = rotation.cursors[target.name] ?? '';
  let written = 0;
  for (;;) {
    const rows = await target.page(cursor, options.batch_size);
    const last = rows.at(-1);
    if (!last) return written;
    const stale = rows.filter((row) => row.version < rotation.to_version);
    const stored = stale.length > 0 ? await target.rewrap(stale) : 0;
    written += stored;
    cursor = last.cursor;
    await run(
      pool,
      sql`UPDATE vault.key_rotations SET cursors = jsonb_set(cursors, ARRAY[${target.name}], to_jsonb(${cursor}::text)), rewrapped = rewrapped + ${stored}
        WHERE id = ${rotation.id}`,
    );
    if (stored > 0) options.report(`${target.purpose}: ${stored} ${target.name} rewrapped to version ${rotation.to_version}`);
    if (options.pause_ms > 0) await sleep(options.pause_ms);
  }
}

async function runningRotation(pool: Pool, purpose: KeyPurpose): Promise<RotationRow | undefined> {
  const result = await run<RotationRow>(
    pool,
    sql`SELECT id, to_version, cursors, rotated_ms FROM vault.key_rotations WHERE purpose = ${purpose} AND state = 'rewrapping'`,
  );
  return result.rows[0];
}

async function startRotation(pool: Pool, purpose: KeyPurpose, to_version: number, now_ms: number): Promise<RotationRow> {
  const result = await run<RotationRow>(
    pool,
    sql`INSERT INTO vault.key_rotations (purpose, to_version, state, rotated_ms) VALUES (${purpose}, ${to_version}, 'rewrapping', ${now_ms})
      RETURNING id, to_version, cursors, rotated_ms`,
  );
  const row = result.rows[0];
  if (!row) throw new Error('key rotation row not stored');
  return row;
}

/** A fresh pass from the start of every target: it finds what arrived under an old version meanwhile. */
async function restartPass(pool: Pool, rotation: RotationRow): Promise<RotationRow> {
  await run(pool, sql`UPDATE vault.key_rotations SET cursors = '{}' WHERE id = ${rotation.id}`);
  return { ...rotation, cursors: {} };
}

export interface KeyUse {
  target: string;
  counts: Record<string, number>;
}

/** How many stored data keys each target holds, per KMS and key version (a full read of each target). */
export async function keyUse(targets: readonly RewrapTarget[], page_size: number): Promise<KeyUse[]> {
  const uses: KeyUse[] = [];
  for (const target of targets) {
    const counts: Record<string, number> = {};
    let cursor = '';
    for (;;) {
      const rows = await target.page(cursor, page_size);
      for (const row of rows) counts[row.label] = (counts[row.label] ?? 0) + 1;
      const last = rows.at(-1);
      if (!last) break;
      cursor = last.cursor;
    }
    uses.push({ target: target.name, counts });
  }
  return uses;
}

/** The last rotation of each purpose, for `keys status`. */
export async function lastRotations(pool: Pool): Promise<Array<{ purpose: string; to_version: number; state: string; rewrapped: string }>> {
  const result = await run<{ purpose: string; to_version: number; state: string; rewrapped: string }>(
    pool,
    sql`SELECT DISTINCT ON (purpose) purpose, to_version, state, rewrapped FROM vault.key_rotations ORDER BY purpose, id DESC`,
  );
  return result.rows;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
