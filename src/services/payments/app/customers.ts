import { randomBytes } from 'node:crypto';
import { sql } from '../../../platform/db.js';
import type { OperationContext, Outcome } from '../../../platform/write/operation.js';
import type { Page, PageRequest } from '../../../platform/pagination.js';
import { listPage } from '../../../platform/pagination.js';
import type { Customer } from '../domain/customer.js';
import { mergeMetadata } from '../../../kernel/metadata.js';
import { previousAttributes } from '../domain/intent.js';
import { renderCustomer } from '../adapters/render.js';
import { customerWasDeleted, getCustomer, insertCustomer, updateCustomer } from '../adapters/store.js';
import type { PaymentsDeps } from './deps.js';
import { eventsWrite } from './events.js';

export interface CustomerParams {
  email?: string | null | undefined;
  name?: string | null | undefined;
  description?: string | null | undefined;
  phone?: string | null | undefined;
  metadata?: Record<string, string | null> | null | undefined;
}

export async function createCustomer(ctx: OperationContext, params: CustomerParams): Promise<Outcome> {
  const customer: Customer = {
    id: ctx.ids.next('customer'),
    merchant_id: ctx.merchant_id,
    email: params.email ?? null,
    name: params.name ?? null,
    description: params.description ?? null,
    phone: params.phone ?? null,
    metadata: mergeMetadata({}, params.metadata ?? {}),
    invoice_prefix: randomBytes(4).toString('hex').toUpperCase(),
    created: ctx.now_s,
    version: 1,
  };
  const outcome: Outcome = { ok: renderCustomer(customer) };
  await ctx.commit([insertCustomer(customer), eventsWrite(ctx, [{ type: 'customer.created', object: renderCustomer(customer) }])], outcome);
  return outcome;
}

/** A concurrent change of the same customer fails the version guard: `lock_timeout` (409), as intents do. */
export async function updateCustomerParams(ctx: OperationContext, id: string, params: CustomerParams): Promise<Outcome> {
  const before = await getCustomer(ctx.reader, ctx.merchant_id, id);
  const { metadata } = params;
  // Only the customer's own fields: the request may carry others (such as `expand`).
  const fields = { email: params.email, name: params.name, description: params.description, phone: params.phone };
  const customer: Customer = {
    ...before,
    ...Object.fromEntries(Object.entries(fields).filter(([, v]) => v !== undefined)),
    metadata: metadata !== undefined ? mergeMetadata(before.metadata, metadata) : before.metadata,
    version: before.version + 1,
  };
  const outcome: Outcome = { ok: renderCustomer(customer) };
  const previous_attributes = previousAttributes(renderCustomer(before), renderCustomer(customer));
  await ctx.commit(
    [updateCustomer(customer, before.version), eventsWrite(ctx, [{ type: 'customer.updated', object: renderCustomer(customer), previous_attributes }])],
    outcome,
  );
  return outcome;
}

export async function deleteCustomer(ctx: OperationContext, id: string): Promise<Outcome> {
  const before = await getCustomer(ctx.reader, ctx.merchant_id, id);
  const outcome: Outcome = { ok: { id, object: 'customer', deleted: true } };
  await ctx.commit(
    [
      updateCustomer({ ...before, version: before.version + 1 }, before.version, true),
      eventsWrite(ctx, [{ type: 'customer.deleted', object: renderCustomer(before) }]),
    ],
    outcome,
  );
  return outcome;
}

export async function retrieveCustomer(deps: PaymentsDeps, merchant_id: string, id: string): Promise<Record<string, unknown>> {
  return renderCustomer(await getCustomer(deps.reader, merchant_id, id));
}

/** For `expand[]=customer`: a deleted customer expands to Stripe's `{id, object, deleted}` stub. */
export async function expandCustomer(deps: PaymentsDeps, merchant_id: string, id: string): Promise<Record<string, unknown>> {
  if (await customerWasDeleted(deps.reader, merchant_id, id)) return { id, object: 'customer', deleted: true };
  return retrieveCustomer(deps, merchant_id, id);
}

export async function listCustomers(deps: PaymentsDeps, merchant_id: string, page: PageRequest, email?: string): Promise<Page<Record<string, unknown>>> {
  const filters = [sql`NOT deleted`, ...(email ? [sql`email = ${email}`] : [])];
  const result = await listPage<Customer>(deps.reader, { table: 'payments.customers', column: 'state' }, merchant_id, filters, page);
  return { data: result.data.map(renderCustomer), has_more: result.has_more };
}
