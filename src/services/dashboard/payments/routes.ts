import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { z } from 'zod';
import type { Clock } from '../../../kernel/clock.js';
import { unixSeconds } from '../../../kernel/clock.js';
import type { Pool } from '../../../platform/db.js';
import { parseParams } from '../../../platform/http/params.js';
import { pathId } from '../../../platform/http/routes.js';
import { withMerchant } from '../../../platform/merchant-scope.js';
import type { WriteDeps } from '../../../platform/write/pipeline.js';
import type { PaymentsDeps } from '../../payments/index.js';
import type { DashboardPermission } from '../auth/index.js';
import { requirePermission } from '../auth/index.js';
import { CANCEL, CAPTURE, REFUND, runPaymentAction } from './actions.js';
import { chartSchema, declineReasons, volumeByDay } from './charts.js';
import { paymentDetail } from './detail.js';
import { listPayments, paymentListSchema } from './list.js';
import { pageSchema } from '../list-page.js';
import { balanceTransactions, balances, customerDetail, customers, payouts } from './money.js';

/** What the dashboard's payments, money and customers API is handed by the composition root. */
export interface DashboardPaymentDeps {
  payments: PaymentsDeps;
  write: WriteDeps;
  /** The system pool: the audit log's writes, as the other dashboard areas make them. */
  system: Pool;
  clock: Clock;
}

const BASE = '/dashboard/api';

/**
 * The JSON API behind the dashboard's payments, balances, payouts, customers and charts pages
 * (docs/dashboard.md, "Payments and money"). Every route checks the signed-in user's permission,
 * then reads and writes as that user's merchant only: row-level security holds it to that merchant.
 */
export function dashboardPaymentRoutes(deps: DashboardPaymentDeps) {
  return async (app: FastifyInstance): Promise<void> => {
    const { payments } = deps;
    const reader = payments.reader;
    const now_s = () => unixSeconds(deps.clock);
    const get = <S extends z.ZodType>(
      path: string,
      permission: DashboardPermission,
      schema: S,
      read: (merchant_id: string, query: z.output<S>, request: FastifyRequest) => Promise<unknown>,
    ) => {
      app.get(`${BASE}${path}`, { preHandler: requirePermission(permission) }, async (request) => {
        const query = parseParams(schema, request.query);
        const user = request.dashboard_user;
        return withMerchant(user.merchant_id, () => read(user.merchant_id, query, request));
      });
    };
    get('/payments', 'payments.read', paymentListSchema, (m, q) => listPayments(reader, m, q));
    get('/payments/:id', 'payments.read', pageSchema.pick({}), (m, _q, r) => paymentDetail(payments, m, pathId(r)));
    get('/balances', 'balances.read', pageSchema.pick({}), (m) => balances(reader, m));
    get('/balance_transactions', 'balances.read', pageSchema, (m, q) => balanceTransactions(reader, m, q, now_s()));
    get('/payouts', 'balances.read', pageSchema, (m, q) => payouts(reader, m, q));
    get('/customers', 'customers.read', pageSchema, (m, q) => customers(payments, m, q));
    get('/customers/:id', 'customers.read', pageSchema.pick({}), (m, _q, r) => customerDetail(payments, m, pathId(r)));
    get('/charts/volume', 'payments.read', chartSchema, async (m, q) => ({ data: await volumeByDay(reader, m, q.days, now_s()) }));
    get('/charts/declines', 'payments.read', chartSchema, async (m, q) => ({ data: await declineReasons(reader, m, q.days, now_s()) }));

    const write = requirePermission('payments.write');
    app.post(`${BASE}/payments/:id/refund`, { preHandler: write }, (request, reply) =>
      runPaymentAction(deps, REFUND, request.dashboard_user, pathId(request), request, reply),
    );
    app.post(`${BASE}/payments/:id/capture`, { preHandler: write }, (request, reply) =>
      runPaymentAction(deps, CAPTURE, request.dashboard_user, pathId(request), request, reply),
    );
    app.post(`${BASE}/payments/:id/cancel`, { preHandler: write }, (request, reply) =>
      runPaymentAction(deps, CANCEL, request.dashboard_user, pathId(request), request, reply),
    );
  };
}
