import type { Database } from '../platform/database.js';
import { PayrailError } from '../kernel/errors.js';
import { DASHBOARD_ROLES, createDashboardUser, defaultMerchantId, generatedPassword, resetDashboardUser } from '../services/dashboard/index.js';
import type { DashboardRole } from '../services/dashboard/index.js';
import type { Command } from './command-line.js';
import { EXIT_OK, EXIT_PROBLEM, UsageError, command } from './command-line.js';

/**
 * `payrail dashboard create-user`: the first owner (or anyone) of the dashboard, from the operator's shell;
 * `payrail dashboard reset-user`: the way back in for a user who lost their authenticator or password.
 */

type WithDatabase = <T>(work: (database: Database) => Promise<T>) => Promise<T>;

export function dashboardCommands(withDatabase: WithDatabase): Command[] {
  return [
    command({
      words: ['dashboard', 'create-user'],
      args: [],
      options: {
        email: { type: 'string', value: 'E', description: 'the user’s email, which they sign in with (required)' },
        role: { type: 'string', value: 'R', description: `${DASHBOARD_ROLES.join(', ')} (required)` },
        merchant: { type: 'string', value: 'ACCT', description: 'the merchant whose dashboard it is (default: the one the first start made)' },
      },
      summary: 'create a dashboard user; the password is PAYRAIL_DASHBOARD_PASSWORD, else generated and printed once',
      run: (values) => {
        const email = values.email;
        const role = values.role as DashboardRole | undefined;
        if (!email) throw new UsageError('--email is required');
        if (!role || !DASHBOARD_ROLES.includes(role)) throw new UsageError(`--role is one of ${DASHBOARD_ROLES.join(', ')}`);
        const given = process.env.PAYRAIL_DASHBOARD_PASSWORD;
        const password = given ?? generatedPassword();
        return withDatabase(async (database) => {
          const merchant_id = values.merchant ?? (await defaultMerchantId(database.pool));
          if (!merchant_id) {
            process.stderr.write('no merchant yet: start Payrail once, or name one with --merchant\n');
            return EXIT_PROBLEM;
          }
          try {
            const user = await createDashboardUser(database.pool, { merchant_id, email, password, role });
            process.stdout.write(`${user.id}  ${user.email}  ${user.role}  ${user.merchant_id}\n`);
            if (!given) process.stdout.write(`Password: ${password}\nStore it now: it cannot be shown again.\n`);
            return EXIT_OK;
          } catch (error) {
            if (!(error instanceof PayrailError)) throw error;
            process.stderr.write(`${error.message}\n`);
            return EXIT_PROBLEM;
          }
        });
      },
    }),
    command({
      words: ['dashboard', 'reset-user'],
      args: [],
      options: {
        email: { type: 'string', value: 'E', description: 'the user’s email (required)' },
        password: { type: 'boolean', description: 'also replace the password: PAYRAIL_DASHBOARD_PASSWORD, else generated and printed once' },
      },
      summary: 'turn off a dashboard user’s second factor and end their sessions (audited); --password also replaces the password',
      run: (values) => {
        const email = values.email;
        if (!email) throw new UsageError('--email is required');
        const given = process.env.PAYRAIL_DASHBOARD_PASSWORD;
        const password = values.password ? (given ?? generatedPassword()) : undefined;
        return withDatabase(async (database) => {
          try {
            const user = await resetDashboardUser(database.pool, email, password, Date.now());
            process.stdout.write(`${user.id}  ${user.email}: second factor off, sessions ended\n`);
            if (password !== undefined && !given) process.stdout.write(`Password: ${password}\nStore it now: it cannot be shown again.\n`);
            return EXIT_OK;
          } catch (error) {
            if (!(error instanceof PayrailError)) throw error;
            process.stderr.write(`${error.message}\n`);
            return EXIT_PROBLEM;
          }
        });
      },
    }),
  ];
}
