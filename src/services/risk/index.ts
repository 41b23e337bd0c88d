/** The risk service's public entry: pure decision code. */
export type { RiskRules } from './domain/rules.js';
export { DEFAULT_RULES, assess } from './domain/rules.js';
