import { z } from 'zod';
import * as P from '../../../platform/http/params.js';
import type { RouteKit } from '../../../platform/http/routes.js';
import { listOf as list, pageOf as page, pathId as id } from '../../../platform/http/routes.js';
import type { PaymentsDeps } from '../app/deps.js';
import * as Reviews from '../app/reviews.js';
import * as S from './param-shapes.js';

/** Radar reviews: `GET /v1/reviews` (the open ones), `GET /v1/reviews/:id`, `POST /v1/reviews/:id/approve`. */

const reviewListSchema = z.strictObject({ ...P.listParams, expand: S.expandListOf('review').optional() });
const retrieveReviewSchema = z.strictObject({ expand: S.expandFor('review').optional() });
const approveReviewSchema = z.strictObject({ expand: S.expandFor('review').optional() });

export function registerReviewRoutes({ post, get }: RouteKit, payments: PaymentsDeps): void {
  get('/v1/reviews', reviewListSchema, async (m, q) => list('/v1/reviews', await Reviews.listReviews(payments, m, page(q))));
  get('/v1/reviews/:id', retrieveReviewSchema, (m, _q, r) => Reviews.retrieveReview(payments, m, id(r)));
  post('/v1/reviews/:id/approve', approveReviewSchema, [], (ctx, _p, r) => Reviews.approveReview(payments, ctx, id(r)));
}
