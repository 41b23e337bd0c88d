import PgBoss from 'pg-boss';
import pg from 'pg';
import { DB_ROLES } from './rls.js';

/**
 * pg-boss's schema made ready for a scheduler that is not its owner (`payrail migrate`): pg-boss
 * installs or upgrades it over the owner's login, then the system role — the one a scheduler process
 * started with PAYRAIL_MIGRATE=off connects as — may read and write its rows, and may create a queue
 * through pg-boss's own `create_queue`, which runs as the owner (SECURITY DEFINER) because a queue is
 * a partition of `scheduler.job` and only the table's owner may attach one. Nothing else of the schema
 * is its: it drops no queue and changes no table.
 */

const SCHEMA = 'scheduler';
const SCHEDULER_ROLE = DB_ROLES.system;

const GRANTS_SQL = `
  GRANT USAGE ON SCHEMA ${SCHEMA} TO ${SCHEDULER_ROLE};
  GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA ${SCHEMA} TO ${SCHEDULER_ROLE};
  ALTER DEFAULT PRIVILEGES IN SCHEMA ${SCHEMA} GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO ${SCHEDULER_ROLE};
  ALTER FUNCTION ${SCHEMA}.create_queue(text, json) SECURITY DEFINER SET search_path = pg_catalog, pg_temp;
  REVOKE ALL ON FUNCTION ${SCHEMA}.create_queue(text, json) FROM PUBLIC;
  GRANT EXECUTE ON FUNCTION ${SCHEMA}.create_queue(text, json) TO ${SCHEDULER_ROLE};
  REVOKE ALL ON FUNCTION ${SCHEMA}.delete_queue(text) FROM PUBLIC;`;

/** Installs or upgrades pg-boss's schema as the owner (`owner_url`) and grants the scheduler's role its use. */
export async function prepareSchedulerSchema(owner_url: string): Promise<void> {
  const boss = new PgBoss({ connectionString: owner_url, schema: SCHEMA, max: 1, application_name: 'payrail-migrate', supervise: false, schedule: false });
  let background_error: Error | undefined;
  boss.on('error', (error: Error) => {
    background_error = error;
  });
  await boss.start();
  await boss.stop({ graceful: false, wait: true });
  if (background_error) throw background_error;
  const client = new pg.Client({ connectionString: owner_url, application_name: 'payrail-migrate' });
  await client.connect();
  try {
    await client.query(GRANTS_SQL);
  } finally {
    await client.end();
  }
}
