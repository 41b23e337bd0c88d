/**
 * Which connector accounts a payment tries, in order, and why: the first rule that matches routes
 * (its priority list, or its percentage split), then the default's accounts follow as fallbacks.
 * Disabled accounts are left out; accounts the health view says are unavailable (breaker open, success
 * rate eliminated) move last, so they are tried only when nothing else is left. Pure and deterministic:
 * a split's choice comes from the attempt id, so a retried attempt routes the same way.
 */
import { createHash } from 'node:crypto';
import { assert } from '../../../kernel/assert.js';
import type { RoutedPayment, RoutingAction, RoutingRules, SplitShare } from './routing-rules.js';
import { describeConditions, ruleMatches } from './routing-rules.js';

/** The built-in sandbox's account id: where a merchant without routing rules routes. */
export const SANDBOX_ACCOUNT_ID = 'sandbox';

export interface RoutableAccount {
  id: string;
  /** The operator's name for it (`adyen-eu`), shown in reasons. */
  label: string;
  enabled: boolean;
}

export interface RoutingConfig {
  /** null: the merchant has no routing rules, and every payment goes to the built-in sandbox. */
  rules: RoutingRules | null;
  /** The stored rules' version (0 without rules): what a routed attempt records it was decided under. */
  version: number;
  accounts: readonly RoutableAccount[];
}

/** Connector accounts' health as the router measures it (success rate window, circuit breaker). */
export interface HealthView {
  isAvailable(account_id: string): boolean;
  /** Successes over calls in the current window, 0 to 1; null before enough calls. */
  successRate(account_id: string): number | null;
}

export interface RouteCandidate {
  account_id: string;
  /** Human-readable: `rule 'eu-cards' (card country in [DE,FR]) → adyen-eu (priority 1)`. */
  reason: string;
}

export interface Route {
  /** Ordered: the router tries the first, and cascades down only on a confirmed failure. */
  candidates: RouteCandidate[];
  /** Accounts the rules named but the route leaves out (disabled, deleted), with why. */
  skipped: RouteCandidate[];
}

/** Every account is available: for dry runs and before the router measures anything. */
export const ALL_HEALTHY: HealthView = { isAvailable: () => true, successRate: () => null };

const SPLIT_BUCKETS = 100;

export function chooseRoute(config: RoutingConfig, payment: RoutedPayment, health: HealthView): Route {
  if (config.rules === null) return { candidates: [{ account_id: SANDBOX_ACCOUNT_ID, reason: 'no routing rules: the built-in sandbox' }], skipped: [] };
  const accounts = new Map(config.accounts.map((account) => [account.id, account]));
  const name = (id: string) => accounts.get(id)?.label ?? id;
  const rule = config.rules.rules.find((candidate) => ruleMatches(candidate.conditions, payment));
  const named = rule
    ? [
        ...expand(rule.action, `rule '${rule.name}' (${describeConditions(rule.conditions)})`, payment.attempt_id, name),
        ...expand(config.rules.default, `default, after rule '${rule.name}'`, payment.attempt_id, name),
      ]
    : expand(config.rules.default, 'default (no rule matched)', payment.attempt_id, name);

  const seen = new Set<string>();
  const available: RouteCandidate[] = [];
  const unavailable: RouteCandidate[] = [];
  const skipped: RouteCandidate[] = [];
  for (const candidate of named) {
    if (seen.has(candidate.account_id)) continue;
    seen.add(candidate.account_id);
    const account = accounts.get(candidate.account_id);
    if (!account) skipped.push({ ...candidate, reason: `${candidate.reason}; skipped: no such account` });
    else if (!account.enabled) skipped.push({ ...candidate, reason: `${candidate.reason}; skipped: disabled` });
    else if (!health.isAvailable(candidate.account_id))
      unavailable.push({ ...candidate, reason: `${candidate.reason}; moved last: ${unhealthy(health, candidate.account_id)}` });
    else available.push(candidate);
  }
  return { candidates: [...available, ...unavailable], skipped };
}

function expand(action: RoutingAction, origin: string, attempt_id: string, name: (id: string) => string): RouteCandidate[] {
  if (action.type === 'priority') {
    return action.accounts.map((account_id, i) => ({ account_id, reason: `${origin} → ${name(account_id)} (priority ${i + 1})` }));
  }
  const bucket = splitBucket(attempt_id);
  const chosen = chosenShare(action.splits, bucket);
  const rest = action.splits.filter((share) => share !== chosen).sort((a, b) => b.weight - a.weight);
  return [
    { account_id: chosen.account, reason: `${origin} → ${name(chosen.account)} (split ${chosen.weight}%, bucket ${bucket})` },
    ...rest.map((share) => ({ account_id: share.account, reason: `${origin} → ${name(share.account)} (split fallback, ${share.weight}%)` })),
  ];
}

/** The attempt's bucket, 0 to 99: the same id always lands in the same one, and ids spread evenly. */
export function splitBucket(attempt_id: string): number {
  const digest = createHash('sha256').update(attempt_id).digest();
  return digest.readUIntBE(0, 6) % SPLIT_BUCKETS;
}

/** The share whose cumulative range holds `bucket`: weights 70/30 give buckets 0–69 and 70–99. */
function chosenShare(splits: readonly SplitShare[], bucket: number): SplitShare {
  let upper = 0;
  for (const share of splits) {
    upper += share.weight;
    if (bucket < upper) return share;
  }
  assert(false, 'split weights must sum to 100');
}

function unhealthy(health: HealthView, account_id: string): string {
  const rate = health.successRate(account_id);
  return rate === null ? 'unavailable (circuit open)' : `unavailable (success rate ${Math.round(rate * 100)}%)`;
}
