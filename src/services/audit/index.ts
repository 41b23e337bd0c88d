/** The audit service's public entry: the hash-chained security log, its verification, and detokenization records. */
export type { Actor, ChainFinding } from './domain/chain.js';
export type { ChainAnchor, Detokenization, SecurityEvent, VerifyReport } from './app/log.js';
export { auditedChange, operationActor, recordDetokenization, redactedUrl, recordSecurityEvent, securityEvent, verifyAuditLog } from './app/log.js';
export { auditMigrations } from './migrations/index.js';
