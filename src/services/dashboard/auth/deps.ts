import type { FastifyRequest } from 'fastify';
import type { Clock } from '../../../kernel/clock.js';
import type { IdGenerator } from '../../../kernel/ids.js';
import type { Pool } from '../../../platform/db.js';
import type { SecretSealer } from '../../vault/index.js';
import type { ActionContext } from './audit.js';
import type { OidcSettings } from './oidc.js';
import type { Random } from './sessions.js';

/** What the dashboard's sign-in routes are handed by the composition root. */
export interface DashboardAuthDeps {
  /** The system role's pool: sign-in finds users by email, across merchants. */
  pool: Pool;
  clock: Clock;
  ids: IdGenerator;
  /** Seals TOTP secrets (the vault's port). */
  totp_sealer: SecretSealer;
  /** Set the cookie Secure: the server speaks TLS (or sits behind a proxy that does). */
  secure_cookie: boolean;
  /** Payrail's public address (PAYRAIL_PUBLIC_URL), for invite links; without it they are relative. */
  public_url: string | undefined;
  /** Sign-in with an external provider; off when undefined. */
  oidc?: OidcSettings | undefined;
  /** Tokens' randomness (tests inject it); node:crypto's by default. */
  random?: Random | undefined;
}

/** The audit context of a request: when, which request, from where. */
export function actionContext(deps: DashboardAuthDeps, request: FastifyRequest): Required<ActionContext> {
  return { at_ms: deps.clock.now_ms(), request_id: request.id, client_ip: request.ip };
}
