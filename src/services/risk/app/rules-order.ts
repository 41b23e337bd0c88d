import { run, withTransaction } from '../../../platform/db.js';
import { withMerchant } from '../../../platform/merchant-scope.js';
import { PayrailError } from '../../../kernel/errors.js';
import { securityEvent } from '../../audit/index.js';
import { ruleText } from '../domain/rule-syntax.js';
import type { StoredRule } from '../adapters/rules-store.js';
import { lockRules, saveRule } from '../adapters/rules-store.js';
import type { RadarRuleView, RuleChange, RulesAdminDeps } from './rules-admin.js';
import { renderRule } from './rules-admin.js';

/**
 * Moving a rule in its merchant's order: within an action, rules are evaluated in that order, so the
 * first of two matching Block rules is the one the charge names. Positions are renumbered 1…n in
 * one transaction, with the merchant's rules locked, and the move is audited with both places.
 */
export function moveRule(deps: RulesAdminDeps, merchant_id: string, rule_id: string, position: number, change: RuleChange): Promise<RadarRuleView> {
  return withMerchant(merchant_id, () =>
    withTransaction(deps.pool, async (client) => {
      const rules = await lockRules(client, merchant_id);
      const before = rules.find((rule) => rule.id === rule_id);
      if (!before) throw new PayrailError('resource_missing', { param: 'rule', message: `No such rule: '${rule_id.slice(0, 64)}'` });
      if (!Number.isSafeInteger(position) || position < 1 || position > rules.length) {
        throw new PayrailError('parameter_invalid', {
          param: 'position',
          message: `Invalid position: this merchant's rules are numbered 1 to ${rules.length}.`,
        });
      }
      const order = rules.filter((rule) => rule.id !== rule_id);
      order.splice(position - 1, 0, before);
      const now_s = Math.floor(change.now_ms / 1000);
      let moved: StoredRule = before;
      for (const [index, rule] of order.entries()) {
        // The default rule gets its row here if it never had one: it has a place of its own now.
        if (rule.position === index + 1 && rule.version > 0) continue;
        const renumbered = { ...rule, position: index + 1, updated: now_s, version: rule.version + 1 };
        await run(client, saveRule(renumbered));
        if (rule.id === rule_id) moved = renumbered;
      }
      const place = (rule: StoredRule, at: number) => ({ rule: ruleText(rule.action, rule.predicate), enabled: rule.enabled, position: at });
      await run(
        client,
        securityEvent({
          type: 'risk_rule.updated',
          merchant_id,
          object_id: rule_id,
          actor: change.actor,
          at_ms: change.now_ms,
          data: { old: place(before, rules.indexOf(before) + 1), new: place(moved, position) },
        }),
      );
      return renderRule(moved);
    }),
  );
}
