/** The connect-charges service's public entry: destination charges' transfers and application fees (docs/connect.md). */
export type { ConnectChargesDeps } from './app/deps.js';
export { destinationChargeHandler } from './app/charge-effects.js';
export { applicationFeeRoutes } from './adapters/routes.js';
export { connectChargeMigrations } from './migrations/index.js';
