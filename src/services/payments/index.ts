/** The payments service's public entry: its routes, its recovery sweeper, what other services read. */
export type { PaymentRisk, PaymentsDeps } from './app/deps.js';
export type { PaymentsRouteDeps } from './adapters/routes.js';
export { paymentsRoutes } from './adapters/routes.js';
export { REFUND_COMMAND } from './adapters/commands.js';
export {
  ORPHAN_LIMITS,
  ORPHAN_SWEEP_INTERVAL_MS,
  ORPHAN_SWEEP_JOB,
  ORPHAN_SWEEP_TIMEOUT_MS,
  settleNotifiedAttempt,
  settleOrphanedCalls,
  unsettledCallAge,
} from './app/recovery.js';
export { balanceTransactionSource } from './adapters/expand.js';
export { ledgerRecords } from './adapters/ledger-records.js';
export type { ChargeConversion, PaymentsFx } from './app/conversion.js';
export { settlementFx } from './app/conversion.js';
export { paymentMigrations } from './migrations/index.js';
// The use cases the checkout service's hosted page runs (through the write pipeline) for a session.
export type { CreatePaymentMethodParams } from './app/payment-methods.js';
export { authenticateIntent, cancelIntent, confirmIntent, createIntent, retrieveIntent } from './app/intents.js';
export { authenticateSetupIntent, cancelSetupIntent, confirmSetupIntent, createSetupIntent, retrieveSetupIntent } from './app/setup-intents.js';
export { createPaymentMethod } from './app/payment-methods.js';
export { clockCustomersDeletion, retrieveCustomer } from './app/customers.js';
// The disputes service's view of a disputed charge, and the write that marks it disputed.
export type { DisputedCharge } from './app/disputed-charges.js';
export { chargeForDispute } from './app/disputed-charges.js';
export { retrieveCharge } from './app/charges.js';
// Destination charges (connect-charges service): the terms a charge carries and the objects its capture makes.
export type { DestinationTerms } from './domain/destination.js';
export { derivedObjectId, destinationSplit } from './domain/destination.js';
// The dashboard's payment pages and actions (src/services/dashboard/payments).
export { captureIntent } from './app/intents.js';
export { listCharges, listRefunds } from './app/charges.js';
export { listCustomers } from './app/customers.js';
export { listPaymentMethods } from './app/payment-methods.js';
