import type { Clock } from '../../../kernel/clock.js';
import { run, sql } from '../../../platform/db.js';
import type { Consumer } from '../app/consumer.js';
import { EVENT_TYPE_NAMES } from '../domain/event-types.js';

export const WEBHOOKS_CONSUMER_NAME = 'webhooks';

/**
 * The outbox consumer behind webhooks: for each event, one delivery row per enabled endpoint of the
 * event's merchant that wants its type and existed when it happened, written in the consumer's own
 * transaction (so with its inbox row and offset: once per event, whatever the binding). The
 * delivery worker sends them; nothing here touches the network.
 */
export function webhookConsumer(clock: Clock): Consumer {
  return {
    name: WEBHOOKS_CONSUMER_NAME,
    types: EVENT_TYPE_NAMES,
    handle: async (batch, tx) => {
      if (batch.length === 0) return;
      const now_ms = clock.now_ms();
      await run(
        tx,
        sql`
        INSERT INTO events.webhook_deliveries (merchant_id, event_id, endpoint_id, event_type, object_id, created_ms, round_started_ms, next_attempt_ms)
        SELECT b.merchant_id, b.event_id, e.id, b.type, b.object_id, ${now_ms}, ${now_ms}, ${now_ms}
        FROM unnest(${batch.map((e) => e.merchant_id)}::text[], ${batch.map((e) => e.id)}::text[], ${batch.map((e) => e.type)}::text[],
                    ${batch.map((e) => e.object_id)}::text[], ${batch.map((e) => e.created)}::bigint[])
             WITH ORDINALITY AS b(merchant_id, event_id, type, object_id, created, ord)
        JOIN events.webhook_endpoints e ON e.merchant_id = b.merchant_id AND e.status = 'enabled' AND e.created <= b.created
          AND (e.enabled_events @> ARRAY['*'] OR b.type = ANY(e.enabled_events))
        ORDER BY b.ord, e.id
        ON CONFLICT DO NOTHING`,
      );
    },
  };
}
