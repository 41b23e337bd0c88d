import type { Migration } from '../../../platform/migrations.js';

/**
 * The balance checks (001_init) plan their lookups when they run, not once per session. PL/pgSQL
 * keeps a query's plan for the connection's life: a consumer's connection that first posted while
 * `ledger.postings` was nearly empty (a new install, or just after an ANALYZE) kept scanning the
 * table whole for every transfer as it grew, at 1.3 ms a transfer after 15,000 postings and rising.
 * `check_transfer_balanced` takes NEW's fields as parameters, so a custom plan each call serves;
 * `check_postings_balanced` has none (it reads the statement's transition table), so it runs its
 * query through EXECUTE, planned each time. Either costs a few tens of µs per call.
 */
export const balanceCheckPlansMigration: Migration = {
  id: 'ledger/007_balance_checks_planned_per_call',
  sql: `
    ALTER FUNCTION ledger.check_transfer_balanced() SET plan_cache_mode = force_custom_plan;

    CREATE OR REPLACE FUNCTION ledger.check_postings_balanced() RETURNS trigger LANGUAGE plpgsql AS $$
    DECLARE
      bad record;
    BEGIN
      EXECUTE $query$
        SELECT touched.transfer_id, t.id IS NULL AS missing, s.n > touched.written AS added_to, s.total, s.n, s.off_currency
          FROM (SELECT merchant_id, transfer_id, count(*) AS written FROM new_postings GROUP BY merchant_id, transfer_id) touched
          LEFT JOIN ledger.transfers t ON t.merchant_id = touched.merchant_id AND t.id = touched.transfer_id COLLATE "C"
          CROSS JOIN LATERAL (
            SELECT coalesce(sum(p.amount), 0) AS total, count(*) AS n, count(*) FILTER (WHERE p.currency IS DISTINCT FROM t.currency) AS off_currency
            FROM ledger.postings p WHERE p.merchant_id = touched.merchant_id AND p.transfer_id = touched.transfer_id COLLATE "C") s
          WHERE t.id IS NULL OR s.n > touched.written OR s.total <> 0 OR s.n < 2 OR s.off_currency > 0
          LIMIT 1
      $query$ INTO bad;
      IF bad.transfer_id IS NOT NULL THEN
        RAISE EXCEPTION 'ledger_unbalanced: postings for transfer % %: % postings summing to %, % in another currency',
          bad.transfer_id, CASE WHEN bad.missing THEN 'that does not exist' WHEN bad.added_to THEN 'added to the ones it had' ELSE 'leave it unbalanced' END,
          bad.n, bad.total, bad.off_currency
          USING ERRCODE = 'check_violation';
      END IF;
      RETURN NULL;
    END $$;`,
};

/**
 * Planning per call (007) cost more than the lookups it planned: about 22 µs a transfer for the row
 * check and 13 µs a statement for the statement check, on top of 7 and 56 µs of execution (measured
 * with pg_stat_statements under the payments bench). Turning sequential scans off inside the two
 * functions gets the same index lookups from a plan kept for the connection's life, whatever the
 * table's statistics said when it was made: the statement check goes back to static SQL, and the
 * row check to the default plan cache mode, which settles on a generic plan after five calls.
 */
export const balanceChecksByIndexMigration: Migration = {
  id: 'ledger/008_balance_checks_kept_plans_by_index',
  sql: `
    ALTER FUNCTION ledger.check_transfer_balanced() RESET plan_cache_mode;
    ALTER FUNCTION ledger.check_transfer_balanced() SET enable_seqscan = off;

    CREATE OR REPLACE FUNCTION ledger.check_postings_balanced() RETURNS trigger LANGUAGE plpgsql
    SET enable_seqscan = off AS $$
    DECLARE
      bad record;
    BEGIN
      SELECT touched.transfer_id, t.id IS NULL AS missing, s.n > touched.written AS added_to, s.total, s.n, s.off_currency INTO bad
        FROM (SELECT merchant_id, transfer_id, count(*) AS written FROM new_postings GROUP BY merchant_id, transfer_id) touched
        LEFT JOIN ledger.transfers t ON t.merchant_id = touched.merchant_id AND t.id = touched.transfer_id COLLATE "C"
        CROSS JOIN LATERAL (
          SELECT coalesce(sum(p.amount), 0) AS total, count(*) AS n, count(*) FILTER (WHERE p.currency IS DISTINCT FROM t.currency) AS off_currency
          FROM ledger.postings p WHERE p.merchant_id = touched.merchant_id AND p.transfer_id = touched.transfer_id COLLATE "C") s
        WHERE t.id IS NULL OR s.n > touched.written OR s.total <> 0 OR s.n < 2 OR s.off_currency > 0
        LIMIT 1;
      IF FOUND THEN
        RAISE EXCEPTION 'ledger_unbalanced: postings for transfer % %: % postings summing to %, % in another currency',
          bad.transfer_id, CASE WHEN bad.missing THEN 'that does not exist' WHEN bad.added_to THEN 'added to the ones it had' ELSE 'leave it unbalanced' END,
          bad.n, bad.total, bad.off_currency
          USING ERRCODE = 'check_violation';
      END IF;
      RETURN NULL;
    END $$;`,
};
