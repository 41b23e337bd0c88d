import { PayrailError } from '../../../kernel/errors.js';
import type { BillingDeps } from './deps.js';

/** Stripe's rule for an invoice's default_payment_method: one of the customer's own PaymentMethods. */
export async function requireCustomerPaymentMethod(deps: BillingDeps, merchant_id: string, customer: string, id: string, param: string): Promise<void> {
  const method = await deps.payments.vault.get(deps.reader, merchant_id, id, param).catch(() => undefined);
  if (method?.customer !== customer) {
    throw new PayrailError('parameter_invalid', {
      param,
      message: `The customer does not have a payment method with the ID ${id.slice(0, 64)}. The payment method must be attached to the customer.`,
    });
  }
}
