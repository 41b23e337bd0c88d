/** The events service's public entry: the outbox, its consumers, routes, webhooks and the bus. */
export type { EventDraft, EventRequest } from './outbox.js';
export { API_VERSION, outboxInsert } from './outbox.js';
export type { ConsumedEvent, Consumer } from './consumer.js';
export { OutboxConsumerRunner } from './consumer-runner.js';
export { consumerLag } from './consumer-status.js';
export type { StepOutcome } from './polling.js';
export { startPolling } from './polling.js';
export type { EventServices, EventServicesOptions } from './runtime.js';
export { startEventServices } from './runtime.js';
export { eventsRoutes } from './routes.js';
export { ADMIN_LIST_LIMIT_MAX, AdminError, eventAttempts, failedDeliveries, formatAttempts, formatDeliveries, resendEvent } from './webhooks/admin.js';
export { eventMigrations } from './migrations/index.js';
