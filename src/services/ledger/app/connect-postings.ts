import type { SqlFragment } from '../../../platform/db.js';
import { sql } from '../../../platform/db.js';
import { assert } from '../../../kernel/assert.js';
import type { Cause, Posting, TransferKind, TransferRequest } from '../domain/transfer.js';
import { toTransfer, validateTransfer } from '../domain/transfer.js';
import { transferId } from '../domain/ids.js';
import { transferWrites } from './external-postings.js';

/**
 * Money between a platform and one of its connected accounts (docs/connect.md, "Transfers"): two
 * transfers, one per merchant, each balanced through `connect_transfers`, written in the caller's one
 * statement so the clearing account sums to zero over the platform and its connected accounts.
 * The platform's leg is an ordinary transfer write; the connected account's is a `ledger.connect_legs`
 * row whose trigger posts it (migrations/connect.ts says why: row-level security).
 */

/** The merchant balance a side's money leaves or lands in. */
export type ConnectBalance = 'merchant_available' | 'merchant_pending';

export interface ConnectSide {
  merchant_id: string;
  kind: TransferKind;
  /** The object this side's balance transaction is for (a transfer, a payment, a reversal). */
  source_id: string;
  /** Default `merchant_available`; destination charges move `merchant_pending`. */
  account?: ConnectBalance;
  /** Unix seconds when this side's money is available (null only for invisible kinds). */
  available_on: number | null;
}

export interface ConnectMovement {
  platform: ConnectSide;
  connected: ConnectSide;
  /** Minor units, positive. */
  amount: number;
  currency: string;
  /** The side whose balance the money leaves: the platform for a transfer, the connected account for a reversal. */
  payer: 'platform' | 'connected';
  /** True when the payer's balance may not go below zero: checked atomically with the posting. */
  floor_at_zero: boolean;
  cause: Cause;
  created: number;
}

export interface ConnectLegs {
  platform: TransferRequest;
  connected: TransferRequest;
}

/** The two transfers of a movement; each one's id is its balance transaction's, derived from kind and source. */
export function connectLegs(m: ConnectMovement): ConnectLegs {
  assert(Number.isSafeInteger(m.amount) && m.amount > 0, 'a connect movement moves a positive amount');
  const leg = (side: ConnectSide, pays: boolean): TransferRequest => {
    const balance = side.account ?? 'merchant_available';
    const postings: Posting[] = pays
      ? [
          { account: balance, amount: m.amount },
          { account: 'connect_transfers', amount: -m.amount },
        ]
      : [
          { account: 'connect_transfers', amount: m.amount },
          { account: balance, amount: -m.amount },
        ];
    return {
      id: transferId(side.kind, side.source_id, m.created),
      merchant_id: side.merchant_id,
      currency: m.currency,
      kind: side.kind,
      source_id: side.source_id,
      postings,
      cause: m.cause,
      created: m.created,
      available_on: side.available_on,
      limits: pays && m.floor_at_zero ? [{ account: balance, floor: 0 }] : [],
    };
  };
  return { platform: leg(m.platform, m.payer === 'platform'), connected: leg(m.connected, m.payer === 'connected') };
}

/** The writes of a movement, for the caller's `ctx.commit` (run in the platform's merchant scope). */
export function connectTransferWrites(m: ConnectMovement): SqlFragment[] {
  const legs = connectLegs(m);
  return [...transferWrites(legs.platform), connectedLegWrite(legs)];
}

function connectedLegWrite({ platform, connected }: ConnectLegs): SqlFragment {
  const valid = validateTransfer(connected);
  assert(valid === 'ok', `transfer ${connected.id}: ${valid}`);
  assert(platform.merchant_id !== connected.merchant_id, 'a connect movement is between two merchants');
  const t = toTransfer(connected);
  const floor = connected.limits?.[0];
  return sql`INSERT INTO ledger.connect_legs (merchant_id, connected_id, transfer_id, platform_transfer_id, currency, kind, source_id, cause_event_id, cause_type,
      created, available_on, net, fee, accounts, amounts, floor_account, floor)
    VALUES (${platform.merchant_id}, ${t.merchant_id}, ${t.id}, ${platform.id}, ${t.currency}, ${t.kind}, ${t.source_id}, ${t.cause.event_id}, ${t.cause.type},
      ${t.created}, ${t.available_on}, ${t.net}, ${t.fee}, ${t.postings.map((p) => p.account)}::text[], ${t.postings.map((p) => p.amount)}::bigint[],
      ${floor?.account ?? null}, ${floor?.floor ?? null})`;
}
