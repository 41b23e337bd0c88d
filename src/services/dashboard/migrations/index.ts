import type { Migration } from '../../../platform/migrations.js';
import { merchantScopedTables } from '../../../platform/rls.js';

/**
 * The dashboard's people: users (one per email across Payrail, so sign-in needs no merchant), their
 * sessions (only a token's hash is stored), invites (likewise) and failed sign-ins (the rate limit
 * counts them, shared by every process). Users, sessions and invites are merchant-scoped for the
 * request role; sign-in itself runs as the system role, since it looks users up by email.
 */
export const dashboardAuthMigrations: Migration[] = [
  {
    id: 'dashboard/001_auth',
    sql: `
      CREATE SCHEMA IF NOT EXISTS dashboard;
      CREATE TABLE dashboard.users (
        id text COLLATE "C" PRIMARY KEY,
        merchant_id text NOT NULL REFERENCES merchants.merchants (id),
        email text NOT NULL,
        role text NOT NULL CHECK (role IN ('owner', 'admin', 'developer', 'support', 'analyst')),
        password_hash text,
        totp_sealed bytea,
        totp_enabled boolean NOT NULL DEFAULT false,
        created_ms bigint NOT NULL
      );
      CREATE UNIQUE INDEX users_by_email ON dashboard.users (lower(email));
      CREATE INDEX users_by_merchant ON dashboard.users (merchant_id, id);
      CREATE TABLE dashboard.sessions (
        token_hash text PRIMARY KEY,
        user_id text NOT NULL REFERENCES dashboard.users (id) ON DELETE CASCADE,
        merchant_id text NOT NULL,
        csrf_token text NOT NULL,
        created_ms bigint NOT NULL,
        last_seen_ms bigint NOT NULL
      );
      CREATE INDEX sessions_by_user ON dashboard.sessions (user_id);
      CREATE TABLE dashboard.invites (
        token_hash text PRIMARY KEY,
        user_id text NOT NULL REFERENCES dashboard.users (id) ON DELETE CASCADE,
        merchant_id text NOT NULL,
        expires_ms bigint NOT NULL,
        accepted_ms bigint
      );
      CREATE TABLE dashboard.sign_in_failures (
        email text NOT NULL,
        client_ip text NOT NULL,
        at_ms bigint NOT NULL
      );
      CREATE INDEX sign_in_failures_by_email ON dashboard.sign_in_failures (email, at_ms);
      CREATE INDEX sign_in_failures_by_ip ON dashboard.sign_in_failures (client_ip, at_ms);
      ${merchantScopedTables(['dashboard.users', 'dashboard.sessions', 'dashboard.invites'])}`,
  },
  {
    // The last TOTP time step a user's code was accepted for: a code seen once (sign-in, enrolment) is spent.
    id: 'dashboard/003_totp_last_step',
    sql: `ALTER TABLE dashboard.users ADD COLUMN totp_last_step bigint;`,
  },
];
