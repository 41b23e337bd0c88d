/** The risk service's public entry: pure decision code. */
export type { RiskRules } from './domain/rules.js';
export { DEFAULT_RULES, assess } from './domain/rules.js';
// What a payment attempt's evaluation decides (the payments service applies it to the charge).
export type { Evaluation, MatchedRule, RiskDecision, TestRiskCard } from './domain/decision.js';
export { decide, sellerMessage, testRiskCard } from './domain/decision.js';
export { usdCents } from './domain/usd.js';
