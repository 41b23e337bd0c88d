/** The risk service's public entry: pure decision code. */
export type { RiskRules } from './domain/rules.js';
export { DEFAULT_RULES, assess } from './domain/rules.js';
// What a payment attempt's evaluation decides (the payments service applies it to the charge).
export type { Evaluation, MatchedRule, RiskDecision, TestRiskCard } from './domain/decision.js';
export { NORMAL_SCORE_MAX, decide, sellerMessage, testRiskCard } from './domain/decision.js';
export { usdCents } from './domain/usd.js';
// Radar's rules and value lists: the rule language, per-merchant rules, and the verdict over a payment's attributes.
export type { RuleAction } from './domain/rule-syntax.js';
export { RuleSyntaxError, parseRule } from './domain/rule-syntax.js';
export type { RuleVerdict } from './domain/rule-verdict.js';
export type { RadarRules, RadarRulesDeps, RadarRulesHandle } from './app/radar-rules.js';
export { openRadarRules } from './app/radar-rules.js';
export type { RadarRuleView, RuleChange, RulesAdminDeps } from './app/rules-admin.js';
export { MAX_RULES_PER_MERCHANT, addRule, listMerchantRules, removeRule, setRuleEnabled, updateRule } from './app/rules-admin.js';
export { DEFAULT_RULE, DEFAULT_RULE_ID } from './adapters/rules-store.js';
export { riskMigrations } from './migrations/index.js';
// The scorer: features over sliding windows (Redis or embedded), the trained model, score and level.
export type { AttemptResult, CheckResult, RiskLevel as RiskScoreLevel, RiskScore, RiskSignals } from './domain/signals.js';
export type { RiskScorer, RiskScorerOptions } from './app/scorer.js';
export { openRiskScorer } from './app/scorer.js';
export { valueListRoutes } from './adapters/value-list-routes.js';
export { radarAdminRoutes } from './adapters/admin-routes.js';
export { moveRule } from './app/rules-order.js';
// The scorer over mutual TLS: the risk role's server and the API's client (PAYRAIL_RISK_URL).
export type { RiskServerOptions } from './adapters/remote-server.js';
export { startRiskServer } from './adapters/remote-server.js';
export type { RemoteRiskSettings } from './adapters/remote-client.js';
export { remoteRiskScorer } from './adapters/remote-client.js';
