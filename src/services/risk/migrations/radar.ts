import type { Migration } from '../../../platform/migrations.js';
import { merchantScopedTables } from '../../../platform/rls.js';

/** The channel a change to a merchant's rules or lists is announced on (payload: the merchant's id). */
export const RADAR_CHANGES_CHANNEL = 'risk_radar_changed';

/**
 * Radar's rules and value lists, per merchant. A rule row keeps its text as written; the default rule
 * (`Block if :risk_level: = 'highest'`) has a row only once the merchant changed it. Every change to
 * these tables announces the merchant on RADAR_CHANGES_CHANNEL, so each process drops its compiled
 * copy of that merchant's rules at the commit.
 */
export const radarMigrations: Migration[] = [
  {
    id: 'risk/001_radar_rules_and_lists',
    sql: `
      CREATE SCHEMA IF NOT EXISTS risk;
      CREATE TABLE risk.rules (
        merchant_id text NOT NULL,
        id text COLLATE "C" NOT NULL,
        action text NOT NULL CHECK (action IN ('request_credentials', 'allow', 'block', 'review')),
        predicate text NOT NULL,
        position bigint NOT NULL,
        enabled boolean NOT NULL,
        created bigint NOT NULL,
        updated bigint NOT NULL,
        version int NOT NULL,
        PRIMARY KEY (merchant_id, id)
      );
      CREATE TABLE risk.value_lists (
        merchant_id text NOT NULL,
        id text COLLATE "C" NOT NULL,
        alias text NOT NULL,
        name text NOT NULL,
        item_type text NOT NULL,
        metadata jsonb NOT NULL,
        created_by text NOT NULL,
        livemode boolean NOT NULL,
        created bigint NOT NULL,
        version int NOT NULL,
        PRIMARY KEY (merchant_id, id),
        UNIQUE (merchant_id, alias)
      );
      CREATE TABLE risk.value_list_items (
        merchant_id text NOT NULL,
        id text COLLATE "C" NOT NULL,
        value_list_id text COLLATE "C" NOT NULL,
        value text NOT NULL,
        normalized text NOT NULL,
        created_by text NOT NULL,
        livemode boolean NOT NULL,
        created bigint NOT NULL,
        PRIMARY KEY (merchant_id, id),
        UNIQUE (merchant_id, value_list_id, normalized),
        FOREIGN KEY (merchant_id, value_list_id) REFERENCES risk.value_lists (merchant_id, id) ON DELETE CASCADE
      );
      CREATE INDEX value_list_items_by_list ON risk.value_list_items (merchant_id, value_list_id, id);

      CREATE FUNCTION risk.announce_change() RETURNS trigger
      LANGUAGE plpgsql AS $$
      BEGIN
        PERFORM pg_notify('${RADAR_CHANGES_CHANNEL}', coalesce(NEW.merchant_id, OLD.merchant_id));
        RETURN NULL;
      END $$;
      CREATE TRIGGER announce_change AFTER INSERT OR UPDATE OR DELETE ON risk.rules FOR EACH ROW EXECUTE FUNCTION risk.announce_change();
      CREATE TRIGGER announce_change AFTER INSERT OR UPDATE OR DELETE ON risk.value_lists FOR EACH ROW EXECUTE FUNCTION risk.announce_change();
      CREATE TRIGGER announce_change AFTER INSERT OR UPDATE OR DELETE ON risk.value_list_items FOR EACH ROW EXECUTE FUNCTION risk.announce_change();
      ${merchantScopedTables(['risk.rules', 'risk.value_lists', 'risk.value_list_items'])}`,
  },
];
