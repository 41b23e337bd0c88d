import type { Db } from '../../../platform/db.js';
import { recordSecurityEvent } from '../../audit/index.js';
import type { DashboardUser } from './permissions.js';

/**
 * What dashboard users do, in the security audit log's hash chain (src/services/audit): type
 * `dashboard.<action>`, actor `dashboard_user` with the user's id, and the user's email in `data`
 * beside `detail`. `detail` must hold no secret: no password, token, key or TOTP secret.
 */

export interface ActionContext {
  at_ms?: number | undefined;
  request_id?: string | undefined;
  client_ip?: string | undefined;
}

export async function recordDashboardAction(
  db: Db,
  user: DashboardUser,
  action: string,
  target: string,
  detail: object = {},
  context: ActionContext = {},
): Promise<void> {
  await recordSecurityEvent(db, {
    type: `dashboard.${action}`,
    merchant_id: user.merchant_id,
    object_id: target,
    actor: { type: 'dashboard_user', id: user.id, request_id: context.request_id, client_ip: context.client_ip },
    at_ms: context.at_ms ?? Date.now(),
    data: { ...detail, user_email: user.email },
  });
}

/** A failed sign-in names no user (the email may belong to no one): recorded without a merchant. */
export async function recordFailedSignIn(db: Db, email: string, reason: string, context: Required<ActionContext>): Promise<void> {
  await recordSecurityEvent(db, {
    type: 'dashboard.sign_in_failed',
    merchant_id: null,
    object_id: null,
    actor: { type: 'dashboard_user', id: null, request_id: context.request_id, client_ip: context.client_ip },
    at_ms: context.at_ms,
    data: { email, reason },
  });
}
