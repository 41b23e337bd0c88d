/** The vault's public entry: the only code that sees a card number in clear (see app/vault.ts). */
export type { BillingDetails, CardDetails, PaymentMethodRecord } from './domain/payment-method.js';
export type { CardForPayment } from './app/vault.js';
export { Vault } from './app/vault.js';
export type { KeyPurpose, KeyStatus, KmsKind } from './domain/kms.js';
export { KEY_PURPOSES, KmsError, isKeyPurpose } from './domain/kms.js';
export type { KeySettings, OpenedKms } from './app/keys.js';
export { openKms } from './app/keys.js';
export type { VaultKeyring } from './app/keyring.js';
export { loadVaultKeyring } from './app/keyring.js';
export type { SecretSealer } from './app/secret-sealer.js';
export type { SealedColumn, OpenBeforeKms } from './app/sealed-column.js';
export { sealedColumnTarget } from './app/sealed-column.js';
export { vaultRewrapTargets } from './app/card-keys.js';
export type { KeyEvent, KeyUse, RewrapTarget, RotationOptions, RotationResult } from './app/rotation.js';
export { RotationBusyError, keyUse, lastRotations, rotateKeys } from './app/rotation.js';
export { vaultMigrations } from './migrations/index.js';
