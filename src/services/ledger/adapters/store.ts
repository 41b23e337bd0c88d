import type pg from 'pg';
import type { Db } from '../../../platform/db.js';
import { joinSql, rawSql, run, sql } from '../../../platform/db.js';
import { assert } from '../../../kernel/assert.js';
import type { AccountCode, AccountTotals } from '../domain/accounts.js';
import { ACCOUNT_CODES, CHART, accountKeyString } from '../domain/accounts.js';
import type { Conversion, Transfer, TransferKind, TransferRequest, TransferResult } from '../domain/transfer.js';
import type { ConvertedCapture } from '../domain/fx-flows.js';
import { LEDGER_LIMITS, accountDeltas, isPosted, planBatch, sameContent, toTransfer, transferKey, validateTransfer } from '../domain/transfer.js';
import { awaitsRelease } from '../domain/flows.js';

/**
 * Posts transfers inside the caller's transaction (`tx` must be in BEGIN). The batch is decided in
 * pure code (`planBatch`: validation, duplicates within the batch) and written in ONE statement:
 * the transfers (skipping ids already posted), their postings, and one upsert per account carrying
 * the batch's summed debits and credits. A hot merchant's account is therefore written once per
 * batch, not once per payment, and the common case costs one round trip. Only when an id turns out
 * to be posted already is it read back, to answer `exists` or `exists_with_different_fields`.
 *
 * When any transfer carries a balance limit, the batch's accounts are first locked (in the one
 * global lock order) and the limits are checked in order against the locked balances; the write
 * then adds exactly the deltas that check accounted for. Either way the database re-checks on
 * commit that every transfer balances.
 */
export async function postTransfers(tx: pg.PoolClient, requests: readonly TransferRequest[]): Promise<TransferResult[]> {
  assert(requests.length <= LEDGER_LIMITS.transfers_per_call_max, `at most ${LEDGER_LIMITS.transfers_per_call_max} transfers per call`);
  if (requests.length === 0) return [];
  if (requests.some((r) => (r.limits ?? []).length > 0)) {
    // Locks first: a transfer posted by another transaction is then either committed (and read
    // below) or waiting behind these locks, so the limits are checked against every prior posting.
    const accounts = await lockAccounts(tx, requests);
    const plan = planBatch(requests, await loadTransfers(tx, requests), accounts);
    const inserted = await writeTransfers(tx, plan.accepted);
    assert(inserted.size === plan.accepted.length, 'a transfer posted while its accounts were locked');
    return plan.results;
  }
  const plan = planBatch(requests, new Map(), null);
  const inserted = await writeTransfers(tx, plan.accepted);
  const skipped = plan.accepted.filter((t) => !inserted.has(transferKey(t)));
  if (skipped.length === 0) return plan.results;
  // Posted before: every request with such an id is answered against the stored transfer.
  const existing = await loadTransfers(tx, skipped);
  return plan.results.map((result, index) => {
    const request = requests[index];
    assert(request !== undefined, 'one result per request');
    const stored = existing.get(transferKey(request));
    // Validation failures stand; ok, exists and exists_with_different_fields are answered anew.
    if (!stored || (!isPosted(result.result) && result.result !== 'exists_with_different_fields')) return result;
    return { id: request.id, result: sameContent(stored, request) ? 'exists' : 'exists_with_different_fields' };
  });
}

interface TransferRow {
  merchant_id: string;
  id: string;
  currency: string;
  kind: TransferKind;
  source_id: string;
  cause_event_id: string;
  cause_type: string;
  created: number;
  available_on: number | null;
  net: number;
  fee: number;
  conversion: Conversion | null;
  postings: { account: AccountCode; amount: number }[] | null;
}

const TRANSFER_COLUMNS = `t.merchant_id, t.id, t.currency, t.kind, t.source_id, t.cause_event_id, t.cause_type, t.created, t.available_on, t.net, t.fee, t.conversion,
  (SELECT json_agg(json_build_object('account', p.account, 'amount', p.amount) ORDER BY p.index)
     FROM ledger.postings p WHERE p.merchant_id = t.merchant_id AND p.transfer_id = t.id) AS postings`;

function fromRow(row: TransferRow): Transfer {
  assert(row.postings !== null && row.postings.length >= 2, `transfer ${row.id} has fewer than two postings`);
  return {
    id: row.id,
    merchant_id: row.merchant_id,
    currency: row.currency,
    kind: row.kind,
    source_id: row.source_id,
    cause: { event_id: row.cause_event_id, type: row.cause_type },
    created: row.created,
    available_on: row.available_on,
    postings: row.postings,
    net: row.net,
    fee: row.fee,
    conversion: row.conversion,
  };
}

/** The already posted transfers among `requests`' ids, keyed by `transferKey`. */
async function loadTransfers(db: Db, requests: readonly { merchant_id: string; id: string }[]): Promise<Map<string, Transfer>> {
  const result = await run<TransferRow>(
    db,
    joinSql(
      [
        rawSql(`SELECT ${TRANSFER_COLUMNS} FROM ledger.transfers t `),
        sql`JOIN unnest(${requests.map((r) => r.merchant_id)}::text[], ${requests.map((r) => r.id)}::text[]) AS k(merchant_id, id)
      ON t.merchant_id = k.merchant_id AND t.id = k.id COLLATE "C"`,
      ],
      '',
    ),
  );
  return new Map(result.rows.map((row) => [transferKey(row), fromRow(row)]));
}

/** Opens the batch's accounts if new, then locks them in the global order and reads their totals. */
async function lockAccounts(tx: pg.PoolClient, requests: readonly TransferRequest[]): Promise<Map<string, AccountTotals>> {
  // Only valid requests name real accounts; the others are refused by planBatch without touching any.
  const keys = accountDeltas(requests.filter((r) => validateTransfer(r) === 'ok'));
  await run(
    tx,
    sql`
    INSERT INTO ledger.accounts (merchant_id, currency, code, normal)
    SELECT * FROM unnest(${keys.map((k) => k.merchant_id)}::text[], ${keys.map((k) => k.currency)}::text[], ${keys.map((k) => k.code)}::text[], ${keys.map((k) => CHART[k.code].normal)}::text[])
    ON CONFLICT (merchant_id, currency, code) DO NOTHING`,
  );
  const result = await run<AccountTotals>(
    tx,
    sql`
    SELECT a.merchant_id, a.currency, a.code, a.debits_posted, a.credits_posted FROM ledger.accounts a
    JOIN unnest(${keys.map((k) => k.merchant_id)}::text[], ${keys.map((k) => k.currency)}::text[], ${keys.map((k) => k.code)}::text[]) AS k(merchant_id, currency, code)
      ON a.merchant_id = k.merchant_id AND a.currency = k.currency AND a.code = k.code
    ORDER BY a.merchant_id COLLATE "C", a.currency COLLATE "C", a.code COLLATE "C"
    FOR UPDATE OF a`,
  );
  return new Map(result.rows.map((row) => [accountKeyString(row), row]));
}

/**
 * One statement: the transfers not yet posted, their postings, the postings' sums per account
 * (upserted in lock order), and the release schedule of captures whose net is still pending.
 * Returns the keys of the transfers it inserted; ids already posted are skipped whole.
 */
async function writeTransfers(tx: pg.PoolClient, accepted: readonly TransferRequest[]): Promise<Set<string>> {
  if (accepted.length === 0) return new Set();
  const transfers = accepted.map(toTransfer);
  const postings = transfers.flatMap((t) => t.postings.map((p, index) => ({ t, p, index })));
  // Pending captures become available later; the release job picks them up by available_on.
  const releases = transfers.filter(awaitsRelease);
  const result = await run<{ inserted: [string, string][]; postings: number }>(
    tx,
    sql`
    WITH new_transfers AS (
      INSERT INTO ledger.transfers (merchant_id, id, currency, kind, source_id, cause_event_id, cause_type, created, available_on, net, fee, conversion)
      SELECT * FROM unnest(${transfers.map((t) => t.merchant_id)}::text[], ${transfers.map((t) => t.id)}::text[], ${transfers.map((t) => t.currency)}::text[],
        ${transfers.map((t) => t.kind)}::text[], ${transfers.map((t) => t.source_id)}::text[], ${transfers.map((t) => t.cause.event_id)}::text[],
        ${transfers.map((t) => t.cause.type)}::text[], ${transfers.map((t) => t.created)}::bigint[], ${transfers.map((t) => t.available_on)}::bigint[],
        ${transfers.map((t) => t.net)}::bigint[], ${transfers.map((t) => t.fee)}::bigint[], ${transfers.map((t) => (t.conversion ? JSON.stringify(t.conversion) : null))}::jsonb[])
      ON CONFLICT (merchant_id, id) DO NOTHING
      RETURNING merchant_id, id
    ), new_postings AS (
      INSERT INTO ledger.postings (merchant_id, transfer_id, index, currency, account, amount)
      SELECT p.* FROM unnest(${postings.map((x) => x.t.merchant_id)}::text[], ${postings.map((x) => x.t.id)}::text[], ${postings.map((x) => x.index)}::smallint[],
        ${postings.map((x) => x.t.currency)}::text[], ${postings.map((x) => x.p.account)}::text[], ${postings.map((x) => x.p.amount)}::bigint[])
        AS p(merchant_id, transfer_id, index, currency, account, amount)
      WHERE EXISTS (SELECT 1 FROM new_transfers t WHERE t.merchant_id = p.merchant_id AND t.id = p.transfer_id COLLATE "C")
      RETURNING merchant_id, currency, account, amount
    ), balances AS (
      INSERT INTO ledger.accounts AS a (merchant_id, currency, code, normal, debits_posted, credits_posted)
      SELECT p.merchant_id, p.currency, p.account, c.normal, sum(greatest(p.amount, 0)), sum(greatest(-p.amount, 0))
      FROM new_postings p JOIN unnest(${ACCOUNT_CODES}::text[], ${ACCOUNT_CODES.map((code) => CHART[code].normal)}::text[]) AS c(code, normal) ON c.code = p.account
      GROUP BY p.merchant_id, p.currency, p.account, c.normal
      ORDER BY p.merchant_id COLLATE "C", p.currency COLLATE "C", p.account COLLATE "C"
      ON CONFLICT (merchant_id, currency, code) DO UPDATE
        SET debits_posted = a.debits_posted + EXCLUDED.debits_posted, credits_posted = a.credits_posted + EXCLUDED.credits_posted
      RETURNING 1
    ), scheduled AS (
      INSERT INTO ledger.releases (merchant_id, transfer_id, available_on)
      SELECT r.* FROM unnest(${releases.map((t) => t.merchant_id)}::text[], ${releases.map((t) => t.id)}::text[], ${releases.map((t) => t.available_on)}::bigint[])
        AS r(merchant_id, transfer_id, available_on)
      WHERE EXISTS (SELECT 1 FROM new_transfers t WHERE t.merchant_id = r.merchant_id AND t.id = r.transfer_id COLLATE "C")
      RETURNING 1
    )
    SELECT coalesce((SELECT json_agg(json_build_array(merchant_id, id)) FROM new_transfers), '[]') AS inserted,
           (SELECT count(*) FROM new_postings)::int AS postings`,
  );
  const written = result.rows[0];
  assert(written !== undefined, 'ledger write returned no row');
  const inserted = new Set(written.inserted.map(([merchant_id, id]) => transferKey({ merchant_id, id })));
  const expected = transfers.filter((t) => inserted.has(transferKey(t))).reduce((n, t) => n + t.postings.length, 0);
  assert(written.postings === expected, 'ledger write did not write every posting of its transfers');
  return inserted;
}

export async function retrieveTransfer(db: Db, merchant_id: string, id: string): Promise<Transfer | undefined> {
  return (await loadTransfers(db, [{ merchant_id, id }])).get(transferKey({ merchant_id, id }));
}

/** The kinds of transfer posted for each of `sources` (merchant_id, source_id). */
export async function kindsBySource(db: Db, sources: readonly { merchant_id: string; source_id: string }[]): Promise<Map<string, Set<TransferKind>>> {
  const kinds = new Map<string, Set<TransferKind>>();
  if (sources.length === 0) return kinds;
  const result = await run<{ merchant_id: string; source_id: string; kind: TransferKind }>(
    db,
    sql`
    SELECT t.merchant_id, t.source_id, t.kind FROM ledger.transfers t
    JOIN unnest(${sources.map((s) => s.merchant_id)}::text[], ${sources.map((s) => s.source_id)}::text[]) AS k(merchant_id, source_id)
      ON t.merchant_id = k.merchant_id AND t.source_id = k.source_id COLLATE "C"`,
  );
  for (const row of result.rows) {
    const key = sourceKey(row);
    kinds.set(key, (kinds.get(key) ?? new Set()).add(row.kind));
  }
  return kinds;
}

/** The converted captures among `charges` (merchant_id, source_id = charge id), keyed by `sourceKey`. */
export async function convertedCaptures(db: Db, charges: readonly { merchant_id: string; source_id: string }[]): Promise<Map<string, ConvertedCapture>> {
  if (charges.length === 0) return new Map();
  const result = await run<{ merchant_id: string; source_id: string; currency: string; conversion: Conversion }>(
    db,
    sql`
    SELECT t.merchant_id, t.source_id, t.currency, t.conversion FROM ledger.transfers t
    JOIN unnest(${charges.map((s) => s.merchant_id)}::text[], ${charges.map((s) => s.source_id)}::text[]) AS k(merchant_id, source_id)
      ON t.merchant_id = k.merchant_id AND t.source_id = k.source_id COLLATE "C"
    WHERE t.kind = 'capture' AND t.conversion IS NOT NULL`,
  );
  return new Map(result.rows.map((row) => [sourceKey(row), { currency: row.currency, conversion: row.conversion }]));
}

export function sourceKey(source: { merchant_id: string; source_id: string }): string {
  return `${source.merchant_id}\u0000${source.source_id}`;
}

export async function accountsOf(db: Db, merchant_id: string): Promise<AccountTotals[]> {
  const result = await run<AccountTotals>(
    db,
    sql`
    SELECT merchant_id, currency, code, debits_posted, credits_posted FROM ledger.accounts WHERE merchant_id = ${merchant_id}
    ORDER BY currency COLLATE "C", code COLLATE "C"`,
  );
  return result.rows;
}
