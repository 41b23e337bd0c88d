import type { Config } from '../../src/platform/config.js';
import { openDatabase } from '../../src/platform/database.js';
import { createLogger } from '../../src/platform/logger.js';
import { systemClock } from '../../src/kernel/clock.js';
import { UlidGenerator } from '../../src/kernel/ids.js';
import { ALL_MIGRATIONS } from '../../src/migrations.js';
import { openPaymentServices } from '../../src/payment-services.js';
import { startPayoutJobs } from '../../src/services/settlement/index.js';
import type { BankRail } from '../../src/services/settlement/index.js';
import { SandboxBank } from '../../src/services/settlement/adapters/sandbox-bank.js';

/**
 * A payout worker that SIGKILLs its own process at one point of a payout's way to the bank
 * (test/e2e/payout-crash.test.ts): `before_bank` once the payout is in transit and before the bank
 * hears of it; `after_answer` once the bank has answered and before Payrail records the answer.
 */
const config = JSON.parse(process.env.PAYOUT_CRASH_CONFIG ?? '{}') as Config;
const mode = process.env.PAYOUT_CRASH_MODE;
if (mode !== 'before_bank' && mode !== 'after_answer') throw new Error('PAYOUT_CRASH_MODE must be before_bank or after_answer');

const logger = createLogger('warn');
const database = await openDatabase(config, ALL_MIGRATIONS);
const services = await openPaymentServices(config, database, { clock: systemClock, ids: new UlidGenerator(), logger, public_url: () => 'http://127.0.0.1' });
const sandbox = new SandboxBank(database.pool);
const crashing: BankRail = {
  send: async (request) => {
    if (mode === 'before_bank') process.kill(process.pid, 'SIGKILL');
    await sandbox.send(request);
    process.kill(process.pid, 'SIGKILL');
    return new Promise(() => {}); // never answers: the process is gone
  },
};
const jobs = startPayoutJobs({
  write: services.write,
  system: database.pool,
  clock: systemClock,
  logger,
  sealer: services.payments.vault.sealer('bank_accounts'),
  bank: crashing,
});
await jobs.processInFlight();
// Reaching here means no payout was in flight: the test expects a kill, so this exit fails it.
process.exit(3);
