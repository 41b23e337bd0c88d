import type { Migration } from '../../../platform/migrations.js';
import { merchantScopedTables } from '../../../platform/rls.js';

/**
 * The security audit log: an append-only chain. A trigger numbers each row and hashes it with the
 * previous row's hash under a lock on the chain's head, so every writer (any service, any process,
 * any transaction) extends one chain, and `payrail audit verify` can recompute it: an edited, deleted
 * or reordered row breaks the hashes from there on. `audit.entry_text` is the one definition of what
 * is hashed; `domain/chain.ts` mirrors it for verification.
 */
export const auditMigrations: Migration[] = [
  {
    id: 'audit/001_security_events',
    sql: `
      CREATE SCHEMA IF NOT EXISTS audit;
      CREATE TABLE audit.chain_head (
        only_row boolean PRIMARY KEY DEFAULT true CHECK (only_row),
        seq bigint NOT NULL,
        hash text NOT NULL
      );
      INSERT INTO audit.chain_head (seq, hash) VALUES (0, repeat('0', 64));
      CREATE TABLE audit.security_events (
        seq bigint PRIMARY KEY,
        at_ms bigint NOT NULL,
        merchant_id text,
        type text NOT NULL,
        object_id text,
        actor_type text NOT NULL,
        actor_id text,
        request_id text,
        client_ip text,
        data text NOT NULL,
        prev_hash text NOT NULL,
        hash text NOT NULL
      );
      CREATE INDEX security_events_by_merchant ON audit.security_events (merchant_id, seq);

      CREATE FUNCTION audit.entry_text(e audit.security_events) RETURNS text
      LANGUAGE sql IMMUTABLE AS $$
        SELECT concat_ws(E'\\x1f', e.prev_hash, e.seq::text, e.at_ms::text, coalesce(e.merchant_id, ''), e.type, coalesce(e.object_id, ''),
          e.actor_type, coalesce(e.actor_id, ''), coalesce(e.request_id, ''), coalesce(e.client_ip, ''), e.data)
      $$;

      CREATE FUNCTION audit.chain_entry() RETURNS trigger
      LANGUAGE plpgsql AS $$
      DECLARE
        head audit.chain_head;
      BEGIN
        SELECT * INTO head FROM audit.chain_head FOR UPDATE;
        NEW.seq := head.seq + 1;
        NEW.prev_hash := head.hash;
        NEW.hash := encode(sha256(convert_to(audit.entry_text(NEW), 'UTF8')), 'hex');
        UPDATE audit.chain_head SET seq = NEW.seq, hash = NEW.hash;
        RETURN NEW;
      END $$;
      CREATE TRIGGER chain_entry BEFORE INSERT ON audit.security_events FOR EACH ROW EXECUTE FUNCTION audit.chain_entry();

      -- Append-only for every role the app connects as; whoever bypasses this (an owner disabling the
      -- trigger, a superuser) still cannot change a row without breaking the chain.
      CREATE FUNCTION audit.append_only() RETURNS trigger
      LANGUAGE plpgsql AS $$
      BEGIN
        RAISE EXCEPTION 'the audit log is append-only';
      END $$;
      CREATE TRIGGER append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON audit.security_events FOR EACH STATEMENT EXECUTE FUNCTION audit.append_only();

      -- Every time a card number leaves the vault, with who asked for it; committed before it is used.
      CREATE TABLE audit.detokenizations (
        seq bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        at_ms bigint NOT NULL,
        merchant_id text NOT NULL,
        payment_method_id text NOT NULL,
        purpose text NOT NULL,
        reference_id text NOT NULL,
        actor_type text NOT NULL,
        actor_id text,
        request_id text,
        client_ip text
      );
      CREATE INDEX detokenizations_by_merchant ON audit.detokenizations (merchant_id, seq);
      CREATE TRIGGER append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON audit.detokenizations FOR EACH STATEMENT EXECUTE FUNCTION audit.append_only();
      ${merchantScopedTables(['audit.security_events', 'audit.detokenizations'])}`,
  },
];
