import { loadConfig } from './platform/config.js';
import { openDatabase } from './platform/database.js';
import { ALL_MIGRATIONS } from './platform/all-migrations.js';
import { migrate } from './platform/migrations.js';
import { systemClock, unixSeconds } from './kernel/clock.js';
import { UlidGenerator } from './kernel/ids.js';
import { createMerchant } from './services/merchants/merchants.js';

const USAGE = `Usage: payrail <command>

  start                       start the platform (same as npm start)
  migrate                     apply pending database migrations
  merchants create [--name N] create a merchant and print its API keys
`;

/** Thin composition root: each command opens the same database the server uses. */
async function main(argv: string[]): Promise<number> {
  const [command, sub, ...rest] = argv;
  const config = loadConfig();
  if (command === 'start') {
    await import('./main.js');
    return -1;
  }
  if (command === 'migrate') {
    const database = await openDatabase(config, 2);
    try {
      const applied = await migrate(database.pool, ALL_MIGRATIONS);
      process.stdout.write(applied.length ? `Applied: ${applied.join(', ')}\n` : 'Database is up to date.\n');
    } finally {
      await database.close();
    }
    return 0;
  }
  if (command === 'merchants' && sub === 'create') {
    const name_index = rest.indexOf('--name');
    const name = name_index >= 0 ? rest[name_index + 1] : undefined;
    const database = await openDatabase(config, 2);
    try {
      const keys = await createMerchant(database.pool, new UlidGenerator(), unixSeconds(systemClock), { name });
      process.stdout.write(`merchant_id=${keys.merchant_id}\nsecret_key=${keys.secret_key}\npublishable_key=${keys.publishable_key}\n`);
    } finally {
      await database.close();
    }
    return 0;
  }
  process.stderr.write(USAGE);
  return command === undefined || command === 'help' || command === '--help' ? 0 : 2;
}

const code = await main(process.argv.slice(2));
if (code >= 0) process.exit(code);
