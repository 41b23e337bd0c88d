import type { Migration } from '../../../platform/migrations.js';
import { merchantScopedTables } from '../../../platform/rls.js';

/** The channel a change to a merchant's connector accounts or routing rules is announced on (payload: the merchant's id). */
export const ROUTING_CHANGES_CHANNEL = 'connectors_routing_changed';

/**
 * A merchant's connector accounts and routing rules. Credentials are sealed by the vault (KMS purpose
 * `connector_credentials`, the account's id as context); the row keeps only a masked hint beside
 * them. A deleted account keeps its row (status `deleted`): captures, refunds and status inquiries of
 * the payments it authorized still reach its processor. Routing rules are versioned: each change is a new row, the highest version is in force, and
 * `rules` NULL means "no routing rules" (everything to the built-in sandbox). Every change announces
 * the merchant on ROUTING_CHANGES_CHANNEL so each process drops its cached copy at the commit.
 */
export const accountMigrations: Migration[] = [
  {
    id: 'connectors/accounts_001_accounts_and_routing',
    sql: `
      CREATE SCHEMA IF NOT EXISTS connectors;
      CREATE TABLE connectors.connector_accounts (
        merchant_id text NOT NULL,
        id text COLLATE "C" NOT NULL,
        type text NOT NULL CHECK (type IN ('sandbox', 'stripe', 'adyen')),
        label text NOT NULL,
        status text NOT NULL CHECK (status IN ('enabled', 'disabled', 'deleted')),
        sealed_credentials bytea NOT NULL,
        credentials_hint jsonb NOT NULL,
        created bigint NOT NULL,
        updated bigint NOT NULL,
        version int NOT NULL CHECK (version >= 1),
        PRIMARY KEY (merchant_id, id)
      );
      -- A deleted account frees its label; its row stays for the payments it authorized (docs/connectors.md).
      CREATE UNIQUE INDEX connector_accounts_label ON connectors.connector_accounts (merchant_id, label) WHERE status <> 'deleted';
      CREATE TABLE connectors.routing_rules (
        merchant_id text NOT NULL,
        version int NOT NULL CHECK (version >= 1),
        rules jsonb,
        created bigint NOT NULL,
        PRIMARY KEY (merchant_id, version)
      );

      CREATE FUNCTION connectors.announce_routing_change() RETURNS trigger
      LANGUAGE plpgsql AS $$
      BEGIN
        PERFORM pg_notify('${ROUTING_CHANGES_CHANNEL}', coalesce(NEW.merchant_id, OLD.merchant_id));
        RETURN NULL;
      END $$;
      CREATE TRIGGER announce_change AFTER INSERT OR UPDATE OR DELETE ON connectors.connector_accounts
        FOR EACH ROW EXECUTE FUNCTION connectors.announce_routing_change();
      CREATE TRIGGER announce_change AFTER INSERT OR UPDATE OR DELETE ON connectors.routing_rules
        FOR EACH ROW EXECUTE FUNCTION connectors.announce_routing_change();
      ${merchantScopedTables(['connectors.connector_accounts', 'connectors.routing_rules'])}`,
  },
];
