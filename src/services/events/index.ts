/** The events service's public entry: the outbox, its consumers, routes, webhooks and the bus. */
export type { EventDraft, EventInternal, EventRequest } from './adapters/outbox.js';
export { API_VERSION, outboxInsert } from './adapters/outbox.js';
export type { ConsumedEvent, Consumer } from './app/consumer.js';
export { OutboxConsumerRunner } from './app/consumer-runner.js';
export { consumerLag } from './app/consumer-status.js';
export type { StepOutcome } from './app/polling.js';
export { startPolling } from './app/polling.js';
export type { EventServices, EventServicesOptions } from './app/runtime.js';
export { startEventServices, startOutboxRelay } from './app/runtime.js';
export { eventsRoutes } from './adapters/routes.js';
export { ADMIN_LIST_LIMIT_MAX, AdminError, eventAttempts, failedDeliveries, formatAttempts, formatDeliveries, resendEvent } from './webhooks/admin.js';
export { eventMigrations } from './migrations/index.js';
export type { SecretSealing, WebhookSecretBox } from './webhooks/secrets.js';
export { webhookSecretBox } from './webhooks/secrets.js';
export { webhookSecretColumn } from './webhooks/secret-column.js';
// The dashboard's payment timeline: a payment's events and their webhook attempts.
export type { DeliveryAttempt, ObjectEvent } from './app/object-history.js';
export { attemptsOfEvents, eventsOfObjects } from './app/object-history.js';
