/** The vault's public entry: the only code that sees a card number in clear (see app/vault.ts). */
export type { BillingDetails, CardDetails, PaymentMethodRecord } from './domain/payment-method.js';
export type { CardForPayment, VaultKeyring } from './app/vault.js';
export { Vault } from './app/vault.js';
export { loadVaultKeyring } from './app/keys.js';
export { vaultMigrations } from './migrations/index.js';
