import type { Migration } from '../../../platform/migrations.js';
import { DB_ROLES, merchantScoped } from '../../../platform/rls.js';

/**
 * Connect: money between a platform and its connected accounts. Each movement is two transfers, one
 * per merchant, both balanced through `connect_transfers`, written in one statement.
 *
 * The request runs in the platform's merchant scope, so row-level security would refuse the connected
 * account's rows. The platform's statement therefore writes its own transfer as usual plus one row of
 * `ledger.connect_legs`, the connected account's side; the row's trigger checks that the account is
 * the platform's (merchants.merchants.platform_id, visible to the platform through merchants' own
 * platform_scope), then opens the transaction to that one account (`payrail.connected_id`, read by
 * the `connected_scope` policies below) and posts the leg: transfer, postings, accounts, and a balance
 * floor when the leg takes money away. One connected account per transaction: a second is refused.
 * A floor that fails raises `payrail_guard_failed`, which the write pipeline reports as it reports
 * any failed guard (`lock_timeout`), and the caller re-reads the balance to say why.
 *
 * Lock order: the platform's accounts are locked by the statement's own writes, the connected
 * account's only by this trigger at the statement's end, so every connect movement locks platform
 * then connected account; no other writer locks two merchants.
 */
/** The connected account a platform's transaction may post for: set only by the trigger below. */
const CONNECTED_SETTING = 'payrail.connected_id';
const SAME_CONNECTED = `merchant_id = current_setting('${CONNECTED_SETTING}', true)`;
const connectedScope = (table: string) =>
  `CREATE POLICY connected_scope ON ${table} TO ${DB_ROLES.app} USING (${SAME_CONNECTED}) WITH CHECK (${SAME_CONNECTED});`;

export const connectLedgerMigration: Migration = {
  id: 'ledger/005_connect_transfers',
  sql: `
    INSERT INTO ledger.account_codes (code, normal) VALUES ('connect_transfers', 'debit') ON CONFLICT DO NOTHING;
    INSERT INTO ledger.transfer_kinds (kind) VALUES
      ('connect_transfer'), ('connect_payment'), ('connect_transfer_reversal'), ('connect_payment_refund') ON CONFLICT DO NOTHING;

    -- The connected side of each movement, as the platform's statement asked for it; append-only.
    CREATE TABLE ledger.connect_legs (
      merchant_id text NOT NULL,
      connected_id text NOT NULL,
      transfer_id text COLLATE "C" NOT NULL,
      platform_transfer_id text COLLATE "C" NOT NULL,
      currency text NOT NULL,
      kind text NOT NULL REFERENCES ledger.transfer_kinds (kind),
      source_id text COLLATE "C" NOT NULL,
      cause_event_id text NOT NULL,
      cause_type text NOT NULL,
      created bigint NOT NULL,
      available_on bigint,
      net bigint NOT NULL,
      fee bigint NOT NULL,
      accounts text[] NOT NULL,
      amounts bigint[] NOT NULL CHECK (cardinality(amounts) = cardinality(accounts)),
      floor_account text,
      floor bigint,
      PRIMARY KEY (merchant_id, platform_transfer_id),
      UNIQUE (connected_id, transfer_id)
    );
    CREATE TRIGGER connect_legs_append_only BEFORE UPDATE OR DELETE ON ledger.connect_legs FOR EACH ROW EXECUTE FUNCTION ledger.refuse_change();
    ${merchantScoped('ledger.connect_legs')}
    ${['ledger.transfers', 'ledger.postings', 'ledger.accounts', 'ledger.releases'].map(connectedScope).join('\n    ')}

    CREATE FUNCTION ledger.post_connect_leg() RETURNS trigger LANGUAGE plpgsql AS $$
    DECLARE
      opened text := nullif(current_setting('${CONNECTED_SETTING}', true), '');
      balance bigint;
    BEGIN
      IF NOT EXISTS (SELECT 1 FROM merchants.merchants WHERE id = NEW.connected_id AND platform_id = NEW.merchant_id) THEN
        RAISE EXCEPTION 'connect_leg_refused: % is not a connected account of %', NEW.connected_id, NEW.merchant_id USING ERRCODE = 'insufficient_privilege';
      END IF;
      IF opened IS NOT NULL AND opened <> NEW.connected_id THEN
        RAISE EXCEPTION 'connect_leg_refused: this transaction already posts for %', opened USING ERRCODE = 'insufficient_privilege';
      END IF;
      PERFORM set_config('${CONNECTED_SETTING}', NEW.connected_id, true);
      INSERT INTO ledger.transfers (merchant_id, id, currency, kind, source_id, cause_event_id, cause_type, created, available_on, net, fee)
        VALUES (NEW.connected_id, NEW.transfer_id, NEW.currency, NEW.kind, NEW.source_id, NEW.cause_event_id, NEW.cause_type, NEW.created, NEW.available_on, NEW.net, NEW.fee);
      INSERT INTO ledger.postings (merchant_id, transfer_id, index, currency, account, amount)
        SELECT NEW.connected_id, NEW.transfer_id, (p.n - 1)::smallint, NEW.currency, p.account, p.amount
        FROM unnest(NEW.accounts, NEW.amounts) WITH ORDINALITY AS p(account, amount, n);
      INSERT INTO ledger.accounts AS a (merchant_id, currency, code, normal, debits_posted, credits_posted)
        SELECT NEW.connected_id, NEW.currency, p.account, c.normal, sum(greatest(p.amount, 0)), sum(greatest(-p.amount, 0))
        FROM unnest(NEW.accounts, NEW.amounts) AS p(account, amount) JOIN ledger.account_codes c ON c.code = p.account
        GROUP BY p.account, c.normal ORDER BY p.account COLLATE "C"
        ON CONFLICT (merchant_id, currency, code) DO UPDATE
          SET debits_posted = a.debits_posted + EXCLUDED.debits_posted, credits_posted = a.credits_posted + EXCLUDED.credits_posted;
      IF NEW.floor_account IS NOT NULL THEN
        SELECT CASE a.normal WHEN 'credit' THEN a.credits_posted - a.debits_posted ELSE a.debits_posted - a.credits_posted END INTO balance
          FROM ledger.accounts a WHERE a.merchant_id = NEW.connected_id AND a.currency = NEW.currency AND a.code = NEW.floor_account;
        IF balance < NEW.floor THEN
          RAISE EXCEPTION 'payrail_guard_failed: % of % would fall below %', NEW.floor_account, NEW.connected_id, NEW.floor;
        END IF;
      END IF;
      RETURN NULL;
    END $$;
    CREATE TRIGGER connect_legs_post AFTER INSERT ON ledger.connect_legs FOR EACH ROW EXECUTE FUNCTION ledger.post_connect_leg();`,
};
