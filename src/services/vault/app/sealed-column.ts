import type { KeyPurpose } from '../domain/kms.js';
import { BEFORE_KMS_LABEL } from './card-keys.js';
import { unpackSealed } from './envelope.js';
import type { RewrapRow, RewrapTarget } from './rotation.js';
import type { SecretSealer } from './secret-sealer.js';

/**
 * A column of another service holding values sealed by a `SecretSealer` (webhook secrets, bank
 * account numbers). That service reads and writes its table; the vault only rewraps the values.
 */
export interface SealedColumn {
  name: string;
  /** Values after `cursor` in a fixed order; `context` is what each was sealed with (its row's id). */
  page(cursor: string, limit: number): Promise<Array<{ cursor: string; context: string; sealed: Buffer }>>;
  /** Stores each `after` unless the row no longer holds `before`; returns rows stored. */
  replace(rows: ReadonlyArray<{ cursor: string; before: Buffer; after: Buffer }>): Promise<number>;
}

/** Opens a value sealed before the KMS (the owning service knows how), so a rotation can seal it anew. */
export type OpenBeforeKms = (sealed: Buffer, context: string) => Promise<string>;

interface ColumnRow extends RewrapRow {
  context: string;
  sealed: Buffer;
}

export function sealedColumnTarget(purpose: KeyPurpose, column: SealedColumn, sealer: SecretSealer, openBeforeKms: OpenBeforeKms): RewrapTarget<ColumnRow> {
  return {
    name: column.name,
    purpose,
    page: async (cursor, limit) =>
      (await column.page(cursor, limit)).map((row) => {
        const unpacked = unpackSealed(row.sealed);
        const label = unpacked ? unpacked.wrapped.split(':', 2).join(':') : BEFORE_KMS_LABEL;
        return { ...row, version: sealer.versionOf(row.sealed), label };
      }),
    rewrap: async (rows) => {
      const recognized = rows.filter((row) => sealer.recognizes(row.sealed));
      const rewrapped = await sealer.rewrap(recognized.map((row) => row.sealed));
      const changes = recognized.map((row, i) => ({ cursor: row.cursor, before: row.sealed, after: rewrapped[i] ?? Buffer.alloc(0) }));
      for (const row of rows.filter((candidate) => !sealer.recognizes(candidate.sealed))) {
        const after = await sealer.seal(await openBeforeKms(row.sealed, row.context), row.context);
        changes.push({ cursor: row.cursor, before: row.sealed, after });
      }
      return column.replace(changes);
    },
  };
}
