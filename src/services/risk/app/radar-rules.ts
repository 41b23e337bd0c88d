import pg from 'pg';
import type { Pool } from '../../../platform/db.js';
import { run, sql } from '../../../platform/db.js';
import { withMerchant } from '../../../platform/merchant-scope.js';
import type { Logger } from '../../../platform/logger.js';
import type { Clock } from '../../../kernel/clock.js';
import { RADAR_CHANGES_CHANNEL } from '../migrations/radar.js';
import { listRules } from '../adapters/rules-store.js';
import type { Attributes } from '../domain/rule-evaluation.js';
import { ruleText } from '../domain/rule-syntax.js';
import { checkRule } from '../domain/rule-check.js';
import type { CompiledRule, RuleVerdict } from '../domain/rule-verdict.js';
import type { MatchedRule } from '../domain/decision.js';
import { decide, evaluationOrder } from '../domain/rule-verdict.js';
import type { ItemType, ListMatcher } from '../domain/value-list-items.js';
import { listMatcher } from '../domain/value-list-items.js';

/**
 * A merchant's enabled Radar rules, compiled once and kept in process with the value lists they look
 * into, so a verdict is an in-memory evaluation. Each change to a merchant's rules or lists is
 * announced by the database at its commit (RADAR_CHANGES_CHANNEL), and every process listening
 * drops that merchant's copy; a TTL bounds staleness if a notification is lost.
 */

export interface RadarRules {
  /** The merchant's enabled rules, in Stripe's order, over the payment's attributes (Radar's names, without colons; null for missing). */
  verdict(merchant_id: string, attributes: Attributes): Promise<RuleVerdict>;
  /** One rule, enabled or not, the default one included, as `charge.outcome.rule` expands to it; undefined once deleted. */
  rule(merchant_id: string, rule_id: string): Promise<MatchedRule | undefined>;
}

export interface RadarRulesHandle extends RadarRules {
  /** Drops a merchant's compiled rules (the next verdict reads them again). */
  forget(merchant_id: string): void;
  /** Resolves once the change listener is listening (at once without one): from then on no change is missed. */
  listening(): Promise<void>;
  close(): Promise<void>;
}

export interface RadarRulesDeps {
  /** Reads rules and lists; may be merchant-scoped (each read runs in the merchant's scope). */
  pool: Pool;
  clock: Clock;
  /** Where to LISTEN for changes; without it, entries live only `ttl_ms`. */
  database_url?: string | undefined;
  logger?: Logger | undefined;
  /** How long a compiled copy is trusted (default 30 s with a listener, 1 s without). */
  ttl_ms?: number | undefined;
  /** Merchants kept compiled at once (default RADAR_CACHE_MAX_MERCHANTS). */
  max_merchants?: number | undefined;
}

/** Merchants whose compiled rules one process keeps (least recently loaded go first). */
export const RADAR_CACHE_MAX_MERCHANTS = 1_000;
const LISTEN_RETRY_MS = 1_000;

interface Entry {
  ordered: CompiledRule[];
  lists: Map<string, ListMatcher>;
  loaded_ms: number;
}

export function openRadarRules(deps: RadarRulesDeps): RadarRulesHandle {
  const ttl_ms = deps.ttl_ms ?? (deps.database_url ? 30_000 : 1_000);
  const max_merchants = deps.max_merchants ?? RADAR_CACHE_MAX_MERCHANTS;
  const cache = new Map<string, Entry>();
  const loading = new Map<string, { generation: number; entry: Promise<Entry> }>();
  let generation = 0;
  const forget = (merchant_id: string) => {
    generation++;
    cache.delete(merchant_id);
  };
  const forgetAll = () => {
    generation++;
    cache.clear();
  };
  const listener = deps.database_url ? listen(deps.database_url, forget, forgetAll, deps.logger) : undefined;

  const load = (merchant_id: string): Promise<Entry> => {
    const started = generation;
    const pending = loading.get(merchant_id);
    if (pending?.generation === started) return pending.entry;
    const entry = withMerchant(merchant_id, () => readEntry(deps.pool, merchant_id, deps.clock.now_ms()))
      .then((fresh) => {
        if (generation === started) {
          cache.delete(merchant_id);
          if (cache.size >= max_merchants) cache.delete(cache.keys().next().value ?? '');
          cache.set(merchant_id, fresh);
        }
        return fresh;
      })
      .finally(() => {
        if (loading.get(merchant_id)?.entry === entry) loading.delete(merchant_id);
      });
    loading.set(merchant_id, { generation: started, entry });
    return entry;
  };

  return {
    async verdict(merchant_id, attributes) {
      let entry = cache.get(merchant_id);
      if (!entry || deps.clock.now_ms() - entry.loaded_ms >= ttl_ms) entry = await load(merchant_id);
      return decide(entry.ordered, attributes, entry.lists);
    },
    rule: (merchant_id, rule_id) =>
      withMerchant(merchant_id, async () => {
        const found = (await listRules(deps.pool, merchant_id)).find((rule) => rule.id === rule_id);
        return found && { id: found.id, action: found.action, predicate: found.predicate };
      }),
    forget,
    listening: () => listener?.ready ?? Promise.resolve(),
    close: async () => {
      await listener?.stop();
    },
  };
}

async function readEntry(pool: Pool, merchant_id: string, now_ms: number): Promise<Entry> {
  const rules = (await listRules(pool, merchant_id)).filter((rule) => rule.enabled);
  const aliases = new Set<string>();
  const compiled = rules.map((rule): CompiledRule => {
    const ref = { id: rule.id, action: rule.action, predicate: rule.predicate };
    try {
      const checked = checkRule(ruleText(rule.action, rule.predicate));
      for (const alias of checked.aliases) aliases.add(alias);
      return { ref, predicate: checked.predicate, position: rule.position };
    } catch (error) {
      // Stored text the current language no longer accepts: the rule fails closed at every payment.
      return { ref, predicate: null, broken: error instanceof Error ? error.message : 'unreadable rule', position: rule.position };
    }
  });
  return { ordered: evaluationOrder(compiled), lists: await readLists(pool, merchant_id, [...aliases]), loaded_ms: now_ms };
}

async function readLists(pool: Pool, merchant_id: string, aliases: readonly string[]): Promise<Map<string, ListMatcher>> {
  const lists = new Map<string, ListMatcher>();
  if (aliases.length === 0) return lists;
  const result = await run<{ alias: string; item_type: ItemType; values: string[] }>(
    pool,
    sql`SELECT l.alias, l.item_type, coalesce(array_agg(i.value) FILTER (WHERE i.value IS NOT NULL), '{}') AS values
      FROM risk.value_lists l LEFT JOIN risk.value_list_items i ON i.merchant_id = l.merchant_id AND i.value_list_id = l.id
      WHERE l.merchant_id = ${merchant_id} AND l.alias = ANY (${aliases}::text[]) GROUP BY l.alias, l.item_type`,
  );
  for (const row of result.rows) lists.set(row.alias, listMatcher(row.item_type, row.values));
  return lists;
}

/** LISTENs for changes on a connection of its own, reconnecting (and forgetting everything) when it breaks. */
function listen(database_url: string, forget: (merchant_id: string) => void, forgetAll: () => void, logger: Logger | undefined) {
  let client: pg.Client | undefined;
  let retry: NodeJS.Timeout | undefined;
  let stopped = false;
  let listened: () => void = () => {};
  const ready = new Promise<void>((resolve) => (listened = resolve));
  const connect = () => {
    const current = new pg.Client({ connectionString: database_url });
    client = current;
    const reconnect = (error: unknown) => {
      if (stopped || client !== current) return;
      logger?.warn({ err: error }, 'Radar rule change listener lost; reconnecting');
      client = undefined;
      current.removeAllListeners('error');
      current.on('error', () => {});
      void current.end().catch(() => {});
      forgetAll();
      retry = setTimeout(connect, LISTEN_RETRY_MS);
    };
    current.on('error', reconnect);
    current.on('end', () => reconnect(new Error('connection ended')));
    current.on('notification', (message) => {
      if (message.channel === RADAR_CHANGES_CHANNEL && message.payload) forget(message.payload);
    });
    current
      .connect()
      .then(() => current.query(`LISTEN ${RADAR_CHANGES_CHANNEL}`))
      // Changes made while not listening are not announced again.
      .then(() => {
        forgetAll();
        listened();
      })
      .catch(reconnect);
  };
  connect();
  return {
    ready,
    stop: async () => {
      stopped = true;
      clearTimeout(retry);
      const current = client;
      client = undefined;
      await current?.end().catch(() => {});
    },
  };
}
