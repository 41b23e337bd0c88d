import type { FastifyRequest } from 'fastify';
import type { Clock } from '../../../kernel/clock.js';
import { PayrailError } from '../../../kernel/errors.js';
import type { Pool } from '../../../platform/db.js';
import { withMerchant } from '../../../platform/merchant-scope.js';
import type { Actor } from '../../audit/index.js';
import type { KeyStore } from '../../merchants/index.js';
import type { DashboardUser } from '../auth/index.js';
import type { BufferedRequestLog } from './request-log.js';

/** What the developers area's routes are handed by the composition root. */
export interface DashboardDeveloperDeps {
  /** The request path's merchant-scoped read pool: every list is read through it, in the user's merchant scope. */
  reader: Pool;
  /** The system pool: resending a delivery and recording actions, as the events and audit services' own admin commands do. */
  system: Pool;
  /** The merchants service's key store (its key creation and roll, with their audit rows and cache invalidation). */
  keys: KeyStore;
  clock: Clock;
  /** Keys created here are live keys on a live platform (PAYRAIL_MODE), test keys otherwise. */
  livemode: boolean;
  /** The gateway's request log (the same instance it records into); these routes start it and stop it with the app. */
  request_log: BufferedRequestLog;
}

/** Runs `work` in the user's merchant scope, so the scoped pools show that merchant's rows only. */
export function asUser<T>(request: FastifyRequest, work: (user: DashboardUser) => Promise<T>): Promise<T> {
  const user = request.dashboard_user;
  return withMerchant(user.merchant_id, () => work(user));
}

/** Who changed something, as the audit log records it: the dashboard user, never their session. */
export function dashboardActor(request: FastifyRequest): Actor {
  return { type: 'dashboard_user', id: request.dashboard_user.id, request_id: request.id, client_ip: request.ip };
}

/** The when, request and address of an action, for `recordDashboardAction`. */
export function actionContext(request: FastifyRequest, clock: Clock): { at_ms: number; request_id: string; client_ip: string } {
  return { at_ms: clock.now_ms(), request_id: request.id, client_ip: request.ip };
}

/** A path id that no stored id could be (NUL, too long) is simply not found. */
export function pathId(request: FastifyRequest, pattern: RegExp): string {
  const id = (request.params as { id?: string }).id ?? '';
  if (!pattern.test(id)) throw new PayrailError('resource_missing', { param: 'id', message: `No such object: '${id.slice(0, 64)}'` });
  return id;
}
