import { PayrailError } from '../../../kernel/errors.js';
import type { Pool } from '../../../platform/db.js';
import { run, withTransaction } from '../../../platform/db.js';
import { withMerchant } from '../../../platform/merchant-scope.js';
import type { Actor } from '../../audit/index.js';
import { securityEvent } from '../../audit/index.js';
import type { StoredAccount, StoredRouting } from '../adapters/accounts-store.js';
import { currentRouting, insertRouting, listAccounts, lockMerchantRouting } from '../adapters/accounts-store.js';
import type { HealthView, Route, RoutingConfig } from '../domain/routing.js';
import { ALL_HEALTHY, chooseRoute } from '../domain/routing.js';
import type { RoutedPayment, RoutingAction, RoutingRules } from '../domain/routing-rules.js';
import { actionAccounts } from '../domain/routing-rules.js';

/**
 * A merchant's routing rules (the admin API and the CLI): read, replace, remove, and a dry run that
 * answers which account a described payment would take and why. Every change is a new version; the
 * accounts a change names must exist, and the default must keep an enabled account, so a payment
 * always has somewhere to go.
 */

/** Who changes a merchant's accounts or rules, and when: recorded in the audit event. */
export interface AccountChange {
  now_ms: number;
  actor: Actor;
}

export interface RoutingAdminDeps {
  /** The system role's pool. */
  pool: Pool;
  /** The router's live health, so a dry run answers as a payment would be routed now; all healthy without it. */
  health?: HealthView | undefined;
}

export interface RoutingView {
  object: 'routing_rules';
  merchant: string;
  /** 0 before the merchant ever set rules. */
  version: number;
  /** null: no routing rules, every payment goes to the built-in sandbox. */
  rules: RoutingRules['rules'] | null;
  default: RoutingAction | null;
  created: number | null;
}

export function renderRouting(merchant_id: string, routing: StoredRouting | undefined): RoutingView {
  return {
    object: 'routing_rules',
    merchant: merchant_id,
    version: routing?.version ?? 0,
    rules: routing?.rules?.rules ?? null,
    default: routing?.rules?.default ?? null,
    created: routing?.created ?? null,
  };
}

export function getRouting(deps: RoutingAdminDeps, merchant_id: string): Promise<RoutingView> {
  return withMerchant(merchant_id, async () => renderRouting(merchant_id, await currentRouting(deps.pool, merchant_id)));
}

/** Replaces the rules (null removes them: everything to the built-in sandbox); refused if `expected_version` is not the one in force. */
export function setRouting(
  deps: RoutingAdminDeps,
  merchant_id: string,
  rules: RoutingRules | null,
  expected_version: number | undefined,
  change: AccountChange,
): Promise<RoutingView> {
  return withMerchant(merchant_id, () =>
    withTransaction(deps.pool, async (client) => {
      await lockMerchantRouting(client, merchant_id);
      const before = await currentRouting(client, merchant_id);
      const version = before?.version ?? 0;
      if (expected_version !== undefined && expected_version !== version)
        throw new PayrailError('parameter_invalid', {
          param: 'expected_version',
          message: `The routing rules are at version ${version}, not ${expected_version}: someone changed them; read them again.`,
        });
      if (rules) checkAccounts(rules, await listAccounts(client, merchant_id));
      const after: StoredRouting = { version: version + 1, rules, created: Math.floor(change.now_ms / 1000) };
      await run(client, insertRouting(merchant_id, after));
      await run(
        client,
        securityEvent({
          type: 'routing_rules.updated',
          merchant_id,
          object_id: null,
          actor: change.actor,
          at_ms: change.now_ms,
          data: { old_version: version, new_version: after.version, rules },
        }),
      );
      return renderRouting(merchant_id, after);
    }),
  );
}

/** What the router would do with the described payment now: the candidates in order, each with why. */
export function evaluateRouting(
  deps: RoutingAdminDeps,
  merchant_id: string,
  payment: RoutedPayment,
): Promise<Route & { object: 'routing_evaluation'; version: number }> {
  return withMerchant(merchant_id, async () => {
    const config = await readRoutingConfig(deps.pool, merchant_id);
    return { object: 'routing_evaluation' as const, version: config.version, ...chooseRoute(config, payment, deps.health ?? ALL_HEALTHY) };
  });
}

/** The merchant's rules in force and accounts, as chooseRoute takes them (the caller sets the merchant scope). */
export async function readRoutingConfig(pool: Pool, merchant_id: string): Promise<RoutingConfig> {
  const [routing, accounts] = await Promise.all([currentRouting(pool, merchant_id), listAccounts(pool, merchant_id)]);
  return {
    rules: routing?.rules ?? null,
    version: routing?.version ?? 0,
    accounts: accounts.map((account) => ({ id: account.id, label: account.label, enabled: account.status === 'enabled' })),
  };
}

/** Every account the rules name is one of the merchant's, and the default keeps an enabled one. */
function checkAccounts(rules: RoutingRules, accounts: readonly StoredAccount[]): void {
  const known = new Set(accounts.map((account) => account.id));
  rules.rules.forEach((rule, i) => {
    const missing = actionAccounts(rule.action).find((id) => !known.has(id));
    if (missing) throw noSuchAccount(`rules[${i}][action]`, missing);
  });
  const missing = actionAccounts(rules.default).find((id) => !known.has(id));
  if (missing) throw noSuchAccount('default', missing);
  checkDefaultRoutable(rules.default, accounts, 'default');
}

/** The default must name an enabled account: it is where every payment can go when nothing else can. */
export function checkDefaultRoutable(fallback: RoutingAction, accounts: readonly StoredAccount[], param: string): void {
  const enabled = new Set(accounts.filter((account) => account.status === 'enabled').map((account) => account.id));
  if (!actionAccounts(fallback).some((id) => enabled.has(id)))
    throw new PayrailError('parameter_invalid', {
      param,
      message: 'The routing rules’ default must keep at least one enabled connector account, so every payment has somewhere to go.',
    });
}

function noSuchAccount(param: string, id: string): PayrailError {
  return new PayrailError('parameter_invalid', { param, message: `No such connector account of this merchant: '${id}'.` });
}
