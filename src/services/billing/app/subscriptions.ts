import { PayrailError } from '../../../kernel/errors.js';
import { parseCreatedFilter } from '../../../platform/http/params.js';
import type { Page, PageRequest } from '../../../platform/pagination.js';
import type { ListSubscriptionsParams } from '../adapters/subscription-schemas.js';
import { renderSubscription } from '../adapters/subscription-render.js';
import { getSubscription, listSubscriptions } from '../adapters/subscription-store.js';
import type { BillingDeps } from './deps.js';
import { pricesOf } from './subscription-prices.js';

/** Reading subscriptions: one by id, and Stripe's list with its filters (canceled ones only with `status=canceled`, `ended` or `all`). */

type Json = Record<string, unknown>;

export async function retrieveSubscription(deps: BillingDeps, merchant_id: string, id: string): Promise<Json> {
  const subscription = await getSubscription(deps.reader, merchant_id, id);
  return renderSubscription(subscription, await pricesOf(deps.reader, subscription));
}

export async function listAllSubscriptions(deps: BillingDeps, merchant_id: string, query: ListSubscriptionsParams, page: PageRequest): Promise<Page<Json>> {
  const result = await listSubscriptions(
    deps.reader,
    merchant_id,
    {
      customer: query.customer,
      price: query.price,
      status: query.status,
      test_clock: query.test_clock,
      collection_method: query.collection_method,
      // Stripe's range filters take the same shapes as `created`, and name themselves in errors.
      current_period_start: rangeOf('current_period_start', query.current_period_start),
      current_period_end: rangeOf('current_period_end', query.current_period_end),
    },
    page,
  );
  const data: Json[] = [];
  for (const subscription of result.data) data.push(renderSubscription(subscription, await pricesOf(deps.reader, subscription)));
  return { data, has_more: result.has_more };
}

function rangeOf(param: string, value: unknown) {
  try {
    return parseCreatedFilter(value);
  } catch (error) {
    if (!(error instanceof PayrailError)) throw error;
    const renamed = (text: string | undefined) => text?.replaceAll('created', param);
    throw new PayrailError(error.code, { param: renamed(error.param), message: renamed(error.message) });
  }
}
