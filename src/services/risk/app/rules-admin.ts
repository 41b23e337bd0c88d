import type { Db, Pool } from '../../../platform/db.js';
import { run, withTransaction } from '../../../platform/db.js';
import { withMerchant } from '../../../platform/merchant-scope.js';
import { PayrailError } from '../../../kernel/errors.js';
import type { IdGenerator } from '../../../kernel/ids.js';
import type { Actor } from '../../audit/index.js';
import { securityEvent } from '../../audit/index.js';
import { checkRule } from '../domain/rule-check.js';
import { RuleSyntaxError, ruleText } from '../domain/rule-syntax.js';
import type { StoredRule } from '../adapters/rules-store.js';
import { DEFAULT_RULE_ID, deleteRule, holdLists, listRules, lockRule, lockRuleAdding, ruleCount, saveRule, unknownAliases } from '../adapters/rules-store.js';

/**
 * Managing a merchant's Radar rules (the admin API and the CLI): add, change, enable, disable and
 * delete, each in one transaction with its audit event (`risk_rule.created` / `.updated` /
 * `.deleted`, with the old and the new text). The default rule can be disabled, not edited or deleted.
 */

/** Rules per merchant: each is evaluated on every payment. */
export const MAX_RULES_PER_MERCHANT = 100;

export interface RulesAdminDeps {
  /** Spans merchants (the system role): the admin API and the CLI act for any merchant. */
  pool: Pool;
  ids: IdGenerator;
}

export interface RuleChange {
  now_ms: number;
  actor: Actor;
}

export interface RadarRuleView {
  id: string;
  object: 'radar.rule';
  action: StoredRule['action'];
  predicate: string;
  rule: string;
  enabled: boolean;
  default: boolean;
  position: number;
  created: number;
  updated: number;
}

export function renderRule(rule: StoredRule): RadarRuleView {
  return {
    id: rule.id,
    object: 'radar.rule',
    action: rule.action,
    predicate: rule.predicate,
    rule: ruleText(rule.action, rule.predicate),
    enabled: rule.enabled,
    default: rule.id === DEFAULT_RULE_ID,
    position: rule.position,
    created: rule.created,
    updated: rule.updated,
  };
}

export function listMerchantRules(deps: RulesAdminDeps, merchant_id: string): Promise<RadarRuleView[]> {
  return withMerchant(merchant_id, async () => (await listRules(deps.pool, merchant_id)).map(renderRule));
}

/** Checks the text (syntax, attributes, types, lists) before anything is written. */
async function checkedText(deps: RulesAdminDeps, merchant_id: string, text: string) {
  let checked;
  try {
    checked = checkRule(text);
  } catch (error) {
    if (error instanceof RuleSyntaxError) throw new PayrailError('parameter_invalid', { param: 'rule', message: `Invalid rule: ${error.message}.` });
    throw error;
  }
  const missing = await unknownAliases(deps.pool, merchant_id, checked.aliases);
  if (missing.length > 0) throw unknownAlias(missing[0] ?? '');
  return checked;
}

function unknownAlias(alias: string): PayrailError {
  return new PayrailError('parameter_invalid', { param: 'rule', message: `Invalid rule: no value list has the alias @${alias}; create it first.` });
}

/** In the rule's transaction: the lists it names exist, and a racing delete or rename of one fails (rules-store.ts). */
async function holdNamedLists(client: Db, merchant_id: string, aliases: readonly string[]): Promise<void> {
  const missing = await holdLists(client, merchant_id, aliases);
  if (missing.length > 0) throw unknownAlias(missing[0] ?? '');
}

export function addRule(deps: RulesAdminDeps, merchant_id: string, text: string, change: RuleChange): Promise<RadarRuleView> {
  return withMerchant(merchant_id, async () => {
    const checked = await checkedText(deps, merchant_id, text);
    return withTransaction(deps.pool, async (client) => {
      await lockRuleAdding(client, merchant_id);
      await holdNamedLists(client, merchant_id, checked.aliases);
      const { count, last_position } = await ruleCount(client, merchant_id);
      if (count >= MAX_RULES_PER_MERCHANT) {
        throw new PayrailError('parameter_invalid', {
          param: 'rule',
          message: `A merchant can have at most ${MAX_RULES_PER_MERCHANT} rules; delete one first.`,
        });
      }
      const now_s = Math.floor(change.now_ms / 1000);
      const rule: StoredRule = {
        merchant_id,
        id: deps.ids.next('radar_rule'),
        action: checked.action,
        predicate: checked.predicate_text,
        position: last_position + 1,
        enabled: true,
        created: now_s,
        updated: now_s,
        version: 1,
      };
      await commit(client, rule, 'risk_rule.created', undefined, change);
      return renderRule(rule);
    });
  });
}

/** Replaces a rule's text (its action may change with it); the rule keeps its id and place. */
export function updateRule(deps: RulesAdminDeps, merchant_id: string, rule_id: string, text: string, change: RuleChange): Promise<RadarRuleView> {
  return withMerchant(merchant_id, async () => {
    if (rule_id === DEFAULT_RULE_ID) throw defaultRuleFixed('edited');
    const checked = await checkedText(deps, merchant_id, text);
    const next = (before: StoredRule) => ({ ...before, action: checked.action, predicate: checked.predicate_text });
    return changeRule(deps, merchant_id, rule_id, change, 'risk_rule.updated', next, checked.aliases);
  });
}

export function setRuleEnabled(deps: RulesAdminDeps, merchant_id: string, rule_id: string, enabled: boolean, change: RuleChange): Promise<RadarRuleView> {
  return withMerchant(merchant_id, () => changeRule(deps, merchant_id, rule_id, change, 'risk_rule.updated', (before) => ({ ...before, enabled })));
}

export function removeRule(
  deps: RulesAdminDeps,
  merchant_id: string,
  rule_id: string,
  change: RuleChange,
): Promise<{ id: string; object: 'radar.rule'; deleted: true }> {
  return withMerchant(merchant_id, async () => {
    if (rule_id === DEFAULT_RULE_ID) throw defaultRuleFixed('deleted');
    await changeRule(deps, merchant_id, rule_id, change, 'risk_rule.deleted', () => undefined);
    return { id: rule_id, object: 'radar.rule' as const, deleted: true as const };
  });
}

async function changeRule(
  deps: RulesAdminDeps,
  merchant_id: string,
  rule_id: string,
  change: RuleChange,
  type: string,
  next: (before: StoredRule) => Omit<StoredRule, 'updated' | 'version'> | undefined,
  aliases: readonly string[] = [],
): Promise<RadarRuleView> {
  return withTransaction(deps.pool, async (client) => {
    await holdNamedLists(client, merchant_id, aliases);
    const before = await lockRule(client, merchant_id, rule_id);
    if (!before) throw new PayrailError('resource_missing', { param: 'rule', message: `No such rule: '${rule_id.slice(0, 64)}'` });
    const changed = next(before);
    const after = changed && { ...changed, updated: Math.floor(change.now_ms / 1000), version: before.version + 1 };
    await commit(client, after, type, before, change);
    return renderRule(after ?? before);
  });
}

/** The rule's row (or its deletion) and its audit event, in the caller's transaction. */
async function commit(client: Db, after: StoredRule | undefined, type: string, before: StoredRule | undefined, change: RuleChange) {
  const rule = after ?? before;
  if (!rule) return;
  await run(client, after ? saveRule(after) : deleteRule(rule));
  const text = (r: StoredRule | undefined) => (r ? { rule: ruleText(r.action, r.predicate), enabled: r.enabled } : null);
  await run(
    client,
    securityEvent({
      type,
      merchant_id: rule.merchant_id,
      object_id: rule.id,
      actor: change.actor,
      at_ms: change.now_ms,
      data: { old: text(before), new: text(after) },
    }),
  );
}

function defaultRuleFixed(what: string): PayrailError {
  return new PayrailError('parameter_invalid', {
    param: 'rule',
    message: `The default rule (Block if :risk_level: = 'highest') cannot be ${what}; disable it instead.`,
  });
}
