import type { Clock } from '../../../kernel/clock.js';
import { joinSql, rawSql, run, sql } from '../../../platform/db.js';
import type { Consumer } from '../app/consumer.js';
import { EVENT_TYPE_NAMES } from '../domain/event-types.js';

export const WEBHOOKS_CONSUMER_NAME = 'webhooks';

/** Endpoint `w` takes event `e`: same merchant, enabled, existed when the event happened, subscribed to its type. */
const ENDPOINT_TAKES_EVENT = rawSql(
  `w.merchant_id = e.merchant_id AND w.status = 'enabled' AND w.created <= e.created AND (w.enabled_events @> ARRAY['*'] OR e.type = ANY(w.enabled_events))`,
);

/**
 * The outbox consumer behind webhooks: for each event, one delivery row per enabled endpoint of the
 * event's merchant that wants its type and existed when it happened, written in the consumer's own
 * transaction (so with its inbox row and offset: once per event, whatever the binding). The
 * delivery worker sends them; nothing here touches the network.
 *
 * An event no endpoint takes is passed over as the batch is read (`wanted_if`): its data is not read
 * and it gets no inbox row. That check reads the endpoints table in the same statement that finds the
 * event committed, so an endpoint committed before the event was gets it: there is no cache to go stale.
 * While no endpoint is enabled at all (most installs, most of the time), a round reads no event: it
 * moves the offset past everything committed (`wants_none_if`).
 */
export function webhookConsumer(clock: Clock): Consumer {
  return {
    name: WEBHOOKS_CONSUMER_NAME,
    types: EVENT_TYPE_NAMES,
    wanted_if: joinSql([rawSql('EXISTS (SELECT 1 FROM events.webhook_endpoints w WHERE '), ENDPOINT_TAKES_EVENT, rawSql(')')], ''),
    wants_none_if: rawSql(`NOT EXISTS (SELECT 1 FROM events.webhook_endpoints w WHERE w.status = 'enabled')`),
    handle: async (batch, tx) => {
      if (batch.length === 0) return;
      const now_ms = clock.now_ms();
      const deliveries = sql`
        INSERT INTO events.webhook_deliveries (merchant_id, event_id, endpoint_id, event_type, object_id, created_ms, round_started_ms, next_attempt_ms)
        SELECT e.merchant_id, e.event_id, w.id, e.type, e.object_id, ${now_ms}, ${now_ms}, ${now_ms}
        FROM unnest(${batch.map((e) => e.merchant_id)}::text[], ${batch.map((e) => e.id)}::text[], ${batch.map((e) => e.type)}::text[],
                    ${batch.map((e) => e.object_id)}::text[], ${batch.map((e) => e.created)}::bigint[])
             WITH ORDINALITY AS e(merchant_id, event_id, type, object_id, created, ord)
        JOIN events.webhook_endpoints w ON `;
      await run(tx, joinSql([deliveries, ENDPOINT_TAKES_EVENT, rawSql(' ORDER BY e.ord, w.id ON CONFLICT DO NOTHING')], ''));
    },
  };
}
