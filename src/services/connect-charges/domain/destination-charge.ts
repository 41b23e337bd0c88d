import type { ConnectMovement } from '../../ledger/index.js';
import { transferId } from '../../ledger/index.js';
import type { DestinationTerms } from '../../payments/index.js';
import { derivedObjectId, destinationSplit } from '../../payments/index.js';

/**
 * What a destination charge's capture makes, decided from the captured charge alone: the transfer to
 * the connected account (`tr_…`), the platform's application fee (`fee_…`), and the money movement
 * between the two, each with an id derived from the charge so any repeat finds the same objects.
 */

/** The captured charge as its event carries it (Stripe's charge object). */
export interface CapturedCharge extends DestinationTerms {
  id: string;
  amount_captured: number;
  currency: string;
  created: number;
}

export interface DestinationTransfer {
  id: string;
  /** The platform. */
  merchant_id: string;
  amount: number;
  amount_reversed: number;
  currency: string;
  destination: string;
  source_transaction: string;
  transfer_group: string | null;
  /** The platform's balance transaction for it. */
  balance_transaction: string;
  created: number;
}

export interface ApplicationFee {
  id: string;
  /** The platform that earned it. */
  merchant_id: string;
  /** The connected account it was taken from. */
  account: string;
  amount: number;
  amount_refunded: number;
  charge: string;
  currency: string;
  created: number;
}

export interface CaptureEffects {
  transfer: DestinationTransfer | null;
  application_fee: ApplicationFee | null;
  movement: ConnectMovement | null;
}

export interface CaptureContext {
  platform_id: string;
  event: { id: string; type: string; created: number };
  /** The processor made the funds available at once: both sides' money is available too. */
  immediate: boolean;
  platform_delay_s: number;
  destination_delay_s: number;
}

export function captureEffects(charge: CapturedCharge, ctx: CaptureContext): CaptureEffects {
  const destination = charge.transfer_data?.destination;
  if (!destination || charge.amount_captured === 0) return { transfer: null, application_fee: null, movement: null };
  const split = destinationSplit(charge);
  const transfer_id = derivedObjectId('tr', charge.id);
  const movement = split.transfer > 0 ? destinationMovement(transfer_id, destination, split.transfer, charge.currency, ctx) : null;
  return {
    movement,
    transfer:
      movement === null
        ? null
        : {
            id: transfer_id,
            merchant_id: ctx.platform_id,
            amount: split.transfer,
            amount_reversed: 0,
            currency: charge.currency,
            destination,
            source_transaction: charge.id,
            transfer_group: charge.transfer_group ?? null,
            balance_transaction: platformLegId(movement),
            created: ctx.event.created,
          },
    application_fee:
      split.application_fee > 0
        ? {
            id: derivedObjectId('fee', charge.id),
            merchant_id: ctx.platform_id,
            account: destination,
            amount: split.application_fee,
            amount_refunded: 0,
            charge: charge.id,
            currency: charge.currency,
            created: ctx.event.created,
          }
        : null,
  };
}

/**
 * The destination's share leaves the platform's pending balance and lands in the connected account's,
 * each side available after its own settlement delay (Stripe's destination charge: the platform bears
 * the processing fee and keeps the application fee, which never leaves its balance).
 */
function destinationMovement(transfer_id: string, destination: string, amount: number, currency: string, ctx: CaptureContext): ConnectMovement {
  const account = ctx.immediate ? 'merchant_available' : 'merchant_pending';
  const at = ctx.event.created;
  return {
    platform: {
      merchant_id: ctx.platform_id,
      kind: 'connect_transfer',
      source_id: transfer_id,
      account,
      available_on: ctx.immediate ? at : at + ctx.platform_delay_s,
    },
    connected: {
      merchant_id: destination,
      kind: 'connect_payment',
      source_id: transfer_id,
      account,
      available_on: ctx.immediate ? at : at + ctx.destination_delay_s,
    },
    amount,
    currency,
    payer: 'platform',
    // The share comes out of the money this capture just brought in, so no floor applies.
    floor_at_zero: false,
    cause: { event_id: ctx.event.id, type: ctx.event.type },
    created: at,
  };
}

function platformLegId(movement: ConnectMovement): string {
  return transferId(movement.platform.kind, movement.platform.source_id, movement.created);
}

/** The `py_` payment naming the destination's side: derived from the transfer id, as stable as it. */
export function destinationPaymentOf(transfer: DestinationTransfer): string {
  return `py_${transfer.id.slice(transfer.id.indexOf('_') + 1)}`;
}
