import { PayrailError } from '../../../kernel/errors.js';
import { retrieveBalanceTransaction } from '../../ledger/index.js';
import type { PaymentsDeps } from '../app/deps.js';
import { retrieveCharge, retrieveRefund } from '../app/charges.js';
import { expandCustomer } from '../app/customers.js';
import { retrieveIntent } from '../app/intents.js';
import { retrieveSetupAttempt, retrieveSetupIntent } from '../app/setup-intents.js';
import { retrieveReview } from '../app/reviews.js';
import { renderPaymentMethod } from './render.js';
import type { Loadable, ObjectType } from './expand-graph.js';
import { GRAPH, isObjectType, listItemType } from './expand-graph.js';

type Json = Record<string, unknown>;
type Loader = (deps: PaymentsDeps, merchant_id: string, id: string) => Promise<Json | undefined>;

/** How to load each kind of object an id field may be expanded to. */
const LOADERS: Record<Loadable, Loader> = {
  payment_intent: retrieveIntent,
  setup_intent: (deps, merchant_id, id) => retrieveSetupIntent(deps, merchant_id, id),
  setup_attempt: retrieveSetupAttempt,
  charge: retrieveCharge,
  refund: retrieveRefund,
  customer: expandCustomer,
  payment_method: async (deps, merchant_id, id) => renderPaymentMethod(await deps.vault.get(deps.reader, merchant_id, id)),
  balance_transaction: postedBalanceTransaction,
  review: retrieveReview,
  // A clock deleted since (its customers go with it on Stripe) leaves the id as it is.
  test_clock: (deps, merchant_id, id) => deps.test_clocks.retrieve(deps.reader, merchant_id, id).catch(unlessMissing),
  radar_rule: async (deps, merchant_id, id) => {
    const rule = await deps.risk.rules.rule(merchant_id, id);
    return rule && { ...rule };
  },
};

function unlessMissing(error: unknown): undefined {
  if (error instanceof PayrailError && error.code === 'resource_missing') return undefined;
  throw error;
}

/**
 * Replaces the fields named in `expand` (`field`, `a.b.c`, or `data.…` on lists) with their objects.
 * The paths were checked against the graph when the request's parameters were parsed.
 */
export async function applyExpand(deps: PaymentsDeps, merchant_id: string, body: Json, expand: readonly string[] | undefined): Promise<Json> {
  if (!expand || expand.length === 0) return body;
  let result = body;
  for (const path of new Set(expand)) result = await expandPath(deps, merchant_id, result, rootType(result), path.split('.'));
  return result;
}

function rootType(body: Json): ObjectType | 'list' | undefined {
  // A search result pages like a list: its paths go through `data` too.
  if (body.object === 'list' || body.object === 'search_result') return 'list';
  return isObjectType(body.object) ? body.object : undefined;
}

async function expandPath(deps: PaymentsDeps, merchant_id: string, value: Json, type: ObjectType | 'list' | undefined, segments: string[]): Promise<Json> {
  const [field, ...rest] = segments;
  if (field === undefined || type === undefined) return value;
  if (type === 'list') {
    if (field !== 'data' || !Array.isArray(value.data)) return value;
    const data = value.data as Json[];
    const first = data[0]?.object;
    const item_type = listItemType(value.url) ?? (isObjectType(first) ? first : undefined);
    return { ...value, data: await Promise.all(data.map((item) => expandPath(deps, merchant_id, item, item_type, rest))) };
  }
  const edge = GRAPH[type][field];
  let child: unknown = value[field] ?? (edge?.included_list ? includedList(value, field) : undefined);
  if (!edge || child === null || child === undefined) return value;
  if (typeof child === 'string' && edge.load) child = await LOADERS[edge.load](deps, merchant_id, child);
  if (typeof child !== 'object' || child === null) return value;
  const next_type = (child as Json).object === 'list' ? 'list' : edge.to;
  return { ...value, [field]: await expandPath(deps, merchant_id, child as Json, next_type, rest) };
}

/** An includable list Payrail has no items for, as Stripe renders an empty one; a deleted object has none. */
function includedList(owner: Json, field: string): Json | undefined {
  if (owner.deleted || typeof owner.id !== 'string' || typeof owner.object !== 'string') return undefined;
  return { object: 'list', data: [], has_more: false, total_count: 0, url: `/v1/${owner.object}s/${owner.id}/${field}` };
}

const LEDGER_WAIT_MS = 5_000;
const LEDGER_POLL_MS = 20;

/**
 * A charge names its balance transaction as soon as it is captured, but the ledger posts it from the
 * charge's event a moment later: expanding it right after the payment (Stripe's fee recipe) waits for
 * that posting, briefly. A ledger that is behind leaves the id unexpanded rather than failing the payment's answer.
 */
async function postedBalanceTransaction(deps: PaymentsDeps, merchant_id: string, id: string): Promise<Json | undefined> {
  const deadline = Date.now() + LEDGER_WAIT_MS;
  for (;;) {
    try {
      return await retrieveBalanceTransaction(deps.reader, merchant_id, id, Math.floor(Date.now() / 1000));
    } catch (error) {
      const missing = error instanceof PayrailError && error.code === 'resource_missing';
      if (!missing) throw error;
      if (Date.now() >= deadline) return undefined;
      await new Promise((resolve) => setTimeout(resolve, LEDGER_POLL_MS));
    }
  }
}

/** The charge or refund a balance transaction is about, for the ledger's `expand[]=source`. */
export async function balanceTransactionSource(deps: PaymentsDeps, merchant_id: string, source_id: string): Promise<Json | undefined> {
  if (source_id.startsWith('ch_')) return retrieveCharge(deps, merchant_id, source_id);
  if (source_id.startsWith('re_')) return retrieveRefund(deps, merchant_id, source_id);
  return undefined;
}
