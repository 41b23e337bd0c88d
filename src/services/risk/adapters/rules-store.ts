import type { Db, SqlFragment } from '../../../platform/db.js';
import { run, sql } from '../../../platform/db.js';
import type { RuleAction } from '../domain/rule-syntax.js';

/** SQL for risk.rules. The default rule has a row only once its merchant changed it. */

export const DEFAULT_RULE_ID = 'rule_default_block_highest_risk';
export const DEFAULT_RULE = { action: 'block', predicate: ":risk_level: = 'highest'" } as const;

export interface StoredRule {
  merchant_id: string;
  id: string;
  action: RuleAction;
  predicate: string;
  position: number;
  enabled: boolean;
  created: number;
  updated: number;
  version: number;
}

/** The default rule as it is before its merchant changes it: enabled, first among block rules. */
function defaultRule(merchant_id: string): StoredRule {
  return { merchant_id, id: DEFAULT_RULE_ID, ...DEFAULT_RULE, position: 0, enabled: true, created: 0, updated: 0, version: 0 };
}

/** Every rule of the merchant, the default one included, in the order they were added. */
export async function listRules(db: Db, merchant_id: string): Promise<StoredRule[]> {
  const rows = (await run<StoredRule>(db, selectRules(merchant_id))).rows;
  return rows.some((rule) => rule.id === DEFAULT_RULE_ID) ? rows : [defaultRule(merchant_id), ...rows];
}

function selectRules(merchant_id: string): SqlFragment {
  return sql`SELECT merchant_id, id, action, predicate, position, enabled, created, updated, version
    FROM risk.rules WHERE merchant_id = ${merchant_id} ORDER BY position, id`;
}

/** Every rule of the merchant, locked for the transaction's change, in their order; the default rule even before it has a row. */
export async function lockRules(db: Db, merchant_id: string): Promise<StoredRule[]> {
  const rows = (
    await run<StoredRule>(
      db,
      sql`SELECT merchant_id, id, action, predicate, position, enabled, created, updated, version
        FROM risk.rules WHERE merchant_id = ${merchant_id} ORDER BY position, id FOR UPDATE`,
    )
  ).rows;
  return rows.some((rule) => rule.id === DEFAULT_RULE_ID) ? rows : [defaultRule(merchant_id), ...rows];
}

/** One rule, locked for the transaction's change; the default rule even before it has a row. */
export async function lockRule(db: Db, merchant_id: string, id: string): Promise<StoredRule | undefined> {
  const result = await run<StoredRule>(
    db,
    sql`SELECT merchant_id, id, action, predicate, position, enabled, created, updated, version
      FROM risk.rules WHERE merchant_id = ${merchant_id} AND id = ${id} FOR UPDATE`,
  );
  return result.rows[0] ?? (id === DEFAULT_RULE_ID ? defaultRule(merchant_id) : undefined);
}

/** Serializes the transactions adding a merchant's rules: each counts them and takes the next place. */
export async function lockRuleAdding(db: Db, merchant_id: string): Promise<void> {
  await run(db, sql`SELECT pg_advisory_xact_lock(hashtextextended(${`risk.rules:${merchant_id}`}, 0))`);
}

export async function ruleCount(db: Db, merchant_id: string): Promise<{ count: number; last_position: number }> {
  const result = await run<{ count: number; last_position: number }>(
    db,
    sql`SELECT count(*)::int AS count, coalesce(max(position), 0)::int AS last_position FROM risk.rules WHERE merchant_id = ${merchant_id}`,
  );
  return result.rows[0] ?? { count: 0, last_position: 0 };
}

/** Inserts or replaces the rule's row (the default rule's first change inserts it). */
export function saveRule(rule: StoredRule): SqlFragment {
  return sql`INSERT INTO risk.rules (merchant_id, id, action, predicate, position, enabled, created, updated, version)
    VALUES (${rule.merchant_id}, ${rule.id}, ${rule.action}, ${rule.predicate}, ${rule.position}, ${rule.enabled}, ${rule.created}, ${rule.updated}, ${rule.version})
    ON CONFLICT (merchant_id, id) DO UPDATE SET action = EXCLUDED.action, predicate = EXCLUDED.predicate, position = EXCLUDED.position,
      enabled = EXCLUDED.enabled, updated = EXCLUDED.updated, version = EXCLUDED.version`;
}

export function deleteRule(rule: StoredRule): SqlFragment {
  return sql`DELETE FROM risk.rules WHERE merchant_id = ${rule.merchant_id} AND id = ${rule.id}`;
}

/** The aliases among `aliases` that name none of the merchant's value lists. */
export async function unknownAliases(db: Db, merchant_id: string, aliases: readonly string[]): Promise<string[]> {
  if (aliases.length === 0) return [];
  const result = await run<{ alias: string }>(
    db,
    sql`SELECT alias FROM risk.value_lists WHERE merchant_id = ${merchant_id} AND alias = ANY (${aliases}::text[])`,
  );
  const known = new Set(result.rows.map((row) => row.alias));
  return aliases.filter((alias) => !known.has(alias));
}

/**
 * Bumps the version of the merchant's lists named by `aliases`, in the caller's transaction, and
 * returns the aliases no list has. A delete or rename of one of them that checked for rules before
 * this commits then fails its version guard (and its retry finds the rule), instead of leaving a
 * rule that names a list that is gone.
 */
export async function holdLists(db: Db, merchant_id: string, aliases: readonly string[]): Promise<string[]> {
  if (aliases.length === 0) return [];
  const result = await run<{ alias: string }>(
    db,
    sql`UPDATE risk.value_lists SET version = version + 1 WHERE merchant_id = ${merchant_id} AND alias = ANY (${aliases}::text[]) RETURNING alias`,
  );
  const held = new Set(result.rows.map((row) => row.alias));
  return aliases.filter((alias) => !held.has(alias));
}
