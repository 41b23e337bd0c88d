import type { Pool, SqlFragment } from '../../../platform/db.js';
import { joinSql, run, sql } from '../../../platform/db.js';
import { aeadOpen } from '../domain/crypto.js';
import type { KeyPurpose } from '../domain/kms.js';
import { KmsError, parseWrapped } from '../domain/kms.js';
import type { VaultKeyring } from './keyring.js';
import type { RewrapRow, RewrapTarget } from './rotation.js';

/** The vault's own stored data keys, as rotation targets: each card's, and the keys in `vault.data_keys`. */
export function vaultRewrapTargets(pool: Pool, keyring: VaultKeyring): RewrapTarget[] {
  return [cardsTarget(pool, keyring), dataKeysTarget(pool, keyring, 'cards')];
}

export const BEFORE_KMS_LABEL = 'before the KMS';

interface CardRow extends RewrapRow {
  merchant_id: string;
  id: string;
  kek_id: string;
  wrapped_key: Buffer;
}

function cardsTarget(pool: Pool, keyring: VaultKeyring): RewrapTarget<CardRow> {
  const kms = keyring.envelopes.kms;
  return {
    name: 'cards',
    purpose: 'cards',
    page: async (cursor, limit) => {
      const [after_merchant = '', after_id = ''] = cursor === '' ? [] : cursor.split('\n');
      const result = await run<{ merchant_id: string; id: string; kek_id: string; wrapped_key: Buffer }>(
        pool,
        sql`SELECT merchant_id, id, kek_id, wrapped_key FROM vault.payment_methods
          WHERE (merchant_id, id) > (${after_merchant}, ${after_id}) ORDER BY merchant_id, id LIMIT ${limit}`,
      );
      return result.rows.map((row) => {
        const wrapped = row.kek_id.startsWith('kms:') ? row.wrapped_key.toString('utf8') : undefined;
        const label = wrapped === undefined ? BEFORE_KMS_LABEL : wrapped.split(':', 2).join(':');
        return { ...row, cursor: `${row.merchant_id}\n${row.id}`, version: wrapped === undefined ? 0 : kms.versionOf(wrapped), label };
      });
    },
    rewrap: async (rows) => {
      const updates: SqlFragment[] = [];
      const through_kms = rows.filter((row) => row.kek_id.startsWith('kms:'));
      const rewrapped = await kms.rewrap(
        'cards',
        through_kms.map((row) => row.wrapped_key.toString('utf8')),
      );
      through_kms.forEach((row, i) => updates.push(cardUpdate(row, rewrapped[i] ?? '')));
      for (const row of rows.filter((candidate) => !candidate.kek_id.startsWith('kms:'))) {
        updates.push(cardUpdate(row, await wrapLegacyDataKey(keyring, row)));
      }
      if (updates.length === 0) return 0;
      const statement = joinSql(
        [
          sql`UPDATE vault.payment_methods AS p SET kek_id = v.kek_id, wrapped_key = v.wrapped_key, key_version = v.key_version FROM (VALUES `,
          joinSql(updates, ', '),
          sql`) AS v(merchant_id, id, old_wrapped, kek_id, wrapped_key, key_version)
          WHERE p.merchant_id = v.merchant_id AND p.id = v.id AND p.wrapped_key = v.old_wrapped`,
        ],
        '',
      );
      const result = await run(pool, statement);
      return result.rowCount ?? 0;
    },
  };
}

/** A card sealed before the KMS: its data key, opened with the old key-encryption key, wrapped by the KMS. */
async function wrapLegacyDataKey(keyring: VaultKeyring, row: CardRow): Promise<string> {
  const kek = keyring.legacy_keks.get(row.kek_id);
  if (!kek) throw new KmsError(`card ${row.id} was sealed under ${row.kek_id}, which this install does not have (PAYRAIL_VAULT_KEY or the key file)`);
  const data_key = aeadOpen(kek, row.wrapped_key, `${row.merchant_id}/${row.id}`);
  try {
    return await keyring.envelopes.kms.wrap('cards', data_key);
  } finally {
    data_key.fill(0);
  }
}

function cardUpdate(row: CardRow, wrapped: string): SqlFragment {
  const { prefix, version } = parseWrapped(wrapped);
  return sql`(${row.merchant_id}::text, ${row.id}::text, ${row.wrapped_key}::bytea, ${`kms:${prefix}`}::text, ${Buffer.from(wrapped, 'utf8')}::bytea, ${version}::int)`;
}

interface DataKeyRow extends RewrapRow {
  name: string;
  wrapped: string;
}

function dataKeysTarget(pool: Pool, keyring: VaultKeyring, purpose: KeyPurpose): RewrapTarget<DataKeyRow> {
  const kms = keyring.envelopes.kms;
  return {
    name: 'data keys',
    purpose,
    page: async (cursor, limit) => {
      const result = await run<{ name: string; wrapped: string }>(
        pool,
        sql`SELECT name, wrapped FROM vault.data_keys WHERE purpose = ${purpose} AND name > ${cursor} ORDER BY name LIMIT ${limit}`,
      );
      return result.rows.map((row) => ({ ...row, cursor: row.name, version: kms.versionOf(row.wrapped), label: row.wrapped.split(':', 2).join(':') }));
    },
    rewrap: async (rows) => {
      const rewrapped = await kms.rewrap(
        purpose,
        rows.map((row) => row.wrapped),
      );
      let stored = 0;
      for (const [i, row] of rows.entries()) {
        const wrapped = rewrapped[i] ?? '';
        const result = await run(
          pool,
          sql`UPDATE vault.data_keys SET wrapped = ${wrapped}, key_version = ${parseWrapped(wrapped).version} WHERE name = ${row.name} AND wrapped = ${row.wrapped}`,
        );
        stored += result.rowCount ?? 0;
      }
      return stored;
    },
  };
}
