import type { PaymentsDeps } from '../app/deps.js';
import { retrieveCharge, retrieveRefund } from '../app/charges.js';
import { expandCustomer } from '../app/customers.js';
import { retrieveIntent } from '../app/intents.js';
import { renderPaymentMethod } from './render.js';

type Json = Record<string, unknown>;
type Loader = (deps: PaymentsDeps, merchant_id: string, id: string) => Promise<Json>;

/** Which fields of which objects `expand[]` may replace, and how to load each. */
const LOADERS: Record<string, Record<string, Loader>> = {
  payment_intent: {
    latest_charge: retrieveCharge,
    customer: expandCustomer,
    payment_method: async (deps, merchant_id, id) => renderPaymentMethod(await deps.vault.get(deps.reader, merchant_id, id)),
  },
  charge: {
    customer: expandCustomer,
    payment_intent: retrieveIntent,
    payment_method: async (deps, merchant_id, id) => renderPaymentMethod(await deps.vault.get(deps.reader, merchant_id, id)),
  },
  refund: { charge: retrieveCharge, payment_intent: retrieveIntent },
};

/** Replaces id fields named in `expand` (`field`, or `data.field` on lists) with their objects. */
export async function applyExpand(deps: PaymentsDeps, merchant_id: string, body: Json, expand: readonly string[] | undefined): Promise<Json> {
  if (!expand || expand.length === 0) return body;
  if (body.object === 'list' && Array.isArray(body.data)) {
    const fields = expand.filter((path) => path.startsWith('data.')).map((path) => path.slice('data.'.length));
    const data = await Promise.all((body.data as Json[]).map((item) => expandObject(deps, merchant_id, item, fields)));
    return { ...body, data };
  }
  return expandObject(deps, merchant_id, body, expand);
}

async function expandObject(deps: PaymentsDeps, merchant_id: string, object: Json, fields: readonly string[]): Promise<Json> {
  const loaders = LOADERS[String(object.object)] ?? {};
  const result = { ...object };
  for (const field of fields) {
    const loader = loaders[field];
    const id = object[field];
    if (loader && typeof id === 'string') result[field] = await loader(deps, merchant_id, id);
  }
  return result;
}

/** The charge or refund a balance transaction is about, for the ledger's `expand[]=source`. */
export async function balanceTransactionSource(deps: PaymentsDeps, merchant_id: string, source_id: string): Promise<Json | undefined> {
  if (source_id.startsWith('ch_')) return retrieveCharge(deps, merchant_id, source_id);
  if (source_id.startsWith('re_')) return retrieveRefund(deps, merchant_id, source_id);
  return undefined;
}
