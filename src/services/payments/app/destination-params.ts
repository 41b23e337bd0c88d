import type { Db } from '../../../platform/db.js';
import { PayrailError } from '../../../kernel/errors.js';
import { connectedAccountOf, settlementCurrencyOf } from '../../merchants/index.js';
import type { DestinationTerms } from '../domain/destination.js';
import { destinationTermsOf } from '../domain/destination.js';

/**
 * The destination charge parameters of a PaymentIntent (create and update), checked as Stripe checks
 * them: the destination must be one of the platform's connected accounts, neither the fee nor the
 * transfer amount may exceed the payment, and the two cannot be combined.
 */
export interface DestinationParams {
  transfer_data?: { destination?: string | undefined; amount?: number | undefined } | undefined;
  application_fee_amount?: number | null | undefined;
  transfer_group?: string | null | undefined;
}

export function hasDestinationParams(params: DestinationParams): boolean {
  return params.transfer_data !== undefined || params.application_fee_amount !== undefined || params.transfer_group !== undefined;
}

/** The terms a new intent starts with; a platform's own charge without Connect parameters reads nothing. */
export async function termsForCreate(
  db: Db,
  platform_id: string,
  payment: { amount: number; currency: string },
  params: DestinationParams,
): Promise<DestinationTerms> {
  if (!hasDestinationParams(params)) return {};
  const destination = params.transfer_data?.destination;
  if (params.transfer_data && destination === undefined) {
    throw new PayrailError('parameter_missing', { param: 'transfer_data[destination]', message: 'Missing required param: transfer_data[destination].' });
  }
  if (destination !== undefined && !(await connectedAccountOf(db, platform_id, destination))) {
    throw new PayrailError('resource_missing', {
      param: 'transfer_data[destination]',
      message: `No such destination: '${destination.slice(0, 64)}'`,
    });
  }
  if (destination !== undefined) await refuseOtherCurrency(db, platform_id, payment.currency);
  const terms: DestinationTerms = {
    transfer_data: destination !== undefined ? { destination, amount: params.transfer_data?.amount ?? null } : null,
    application_fee_amount: params.application_fee_amount ?? null,
    transfer_group: params.transfer_group ?? null,
  };
  return checkTerms(terms, payment.amount);
}

/**
 * The destination's share moves in the charge's currency; a charge the ledger converts to the
 * platform's settlement currency would leave the share unconverted, so it is refused for now.
 */
async function refuseOtherCurrency(db: Db, platform_id: string, currency: string): Promise<void> {
  const settlement = await settlementCurrencyOf(db, platform_id);
  if (settlement === currency) return;
  throw new PayrailError('parameter_invalid', {
    param: 'currency',
    message: `Destination charges must be in the platform's settlement currency (${settlement}); conversion of the destination's share is not supported yet.`,
  });
}

/**
 * An update may change the fee, the transfer amount and the group, never the destination (Stripe's
 * update has no `transfer_data[destination]`: its schema refuses it); the result is checked against
 * the intent's amount, which the same update may have changed.
 */
export function termsForUpdate(current: DestinationTerms, amount: number, params: DestinationParams): DestinationTerms {
  if (!hasDestinationParams(params)) return checkTerms(destinationTermsOf(current), amount);
  if (params.transfer_data?.amount !== undefined && !current.transfer_data) {
    throw new PayrailError('parameter_invalid', {
      param: 'transfer_data[amount]',
      message: 'transfer_data[amount] can only be set on a PaymentIntent created with transfer_data[destination].',
    });
  }
  const terms: DestinationTerms = {
    ...current,
    ...(current.transfer_data && params.transfer_data?.amount !== undefined
      ? { transfer_data: { ...current.transfer_data, amount: params.transfer_data.amount } }
      : {}),
    ...(params.application_fee_amount !== undefined ? { application_fee_amount: params.application_fee_amount } : {}),
    ...(params.transfer_group !== undefined ? { transfer_group: params.transfer_group } : {}),
  };
  return checkTerms(destinationTermsOf(terms), amount);
}

function checkTerms(terms: DestinationTerms, amount: number): DestinationTerms {
  const fee = terms.application_fee_amount ?? null;
  const transfer_amount = terms.transfer_data?.amount ?? null;
  if (fee !== null && !terms.transfer_data) {
    throw new PayrailError('parameter_invalid', {
      param: 'application_fee_amount',
      message:
        'Can only apply an application_fee_amount when the PaymentIntent is attempting a destination payment (using `transfer_data[destination]`). Direct charges with an application fee are not supported.',
    });
  }
  if (fee !== null && transfer_amount !== null) {
    throw new PayrailError('parameters_exclusive', {
      param: 'application_fee_amount',
      message: 'You may only specify one of these parameters: application_fee_amount, transfer_data[amount].',
    });
  }
  if (fee !== null && fee > amount) {
    throw new PayrailError('parameter_invalid', {
      param: 'application_fee_amount',
      message: `The application fee amount (${fee}) cannot be greater than the PaymentIntent amount (${amount}).`,
    });
  }
  if (transfer_amount !== null && transfer_amount > amount) {
    throw new PayrailError('parameter_invalid', {
      param: 'transfer_data[amount]',
      message: `The transfer amount (${transfer_amount}) cannot be greater than the PaymentIntent amount (${amount}).`,
    });
  }
  return destinationTermsOf(terms);
}
