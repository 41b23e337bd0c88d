import { randomBytes } from 'node:crypto';
import { run, sql } from '../../../platform/db.js';
import type { SqlFragment } from '../../../platform/db.js';
import type { OperationContext, Outcome } from '../../../platform/write/operation.js';
import type { Page, PageRequest } from '../../../platform/pagination.js';
import { listPage } from '../../../platform/pagination.js';
import { PayrailError } from '../../../kernel/errors.js';
import type { Customer, InvoiceSettings } from '../domain/customer.js';
import type { Address } from '../domain/details.js';
import { emptyAddress } from '../domain/details.js';
import { mergeMetadata } from '../../../kernel/metadata.js';
import { previousAttributes } from '../../../kernel/previous-attributes.js';
import { renderCustomer, renderPaymentMethod } from '../adapters/render.js';
import { customerWasDeleted, getCustomer, insertCustomer, updateCustomer } from '../adapters/store.js';
import type { PaymentsDeps } from './deps.js';
import { eventsWrite } from './events.js';
import type { ShippingParams } from './intent-params.js';
import { shippingOf } from './intent-params.js';

type Optional<T> = { [K in keyof T]?: T[K] | null | undefined };

export interface CustomerParams {
  address?: Optional<Address> | null | undefined;
  balance?: number | undefined;
  description?: string | null | undefined;
  email?: string | null | undefined;
  invoice_prefix?: string | undefined;
  invoice_settings?: Optional<Omit<InvoiceSettings, 'custom_fields'>> & { custom_fields?: InvoiceSettings['custom_fields'] | undefined };
  metadata?: Record<string, string | null> | null | undefined;
  name?: string | null | undefined;
  next_invoice_sequence?: number | undefined;
  phone?: string | null | undefined;
  preferred_locales?: string[] | null | undefined;
  shipping?: ShippingParams | null | undefined;
  tax_exempt?: '' | 'exempt' | 'none' | 'reverse' | undefined;
}

export interface CreateCustomerParams extends CustomerParams {
  /** A PaymentMethod to attach to the new customer, as `paymentMethods.attach` would. */
  payment_method?: string | undefined;
  /** A test clock of the merchant the customer lives on; fixed for the customer's life, as on Stripe. */
  test_clock?: string | undefined;
}

const NO_INVOICE_SETTINGS: InvoiceSettings = { custom_fields: null, default_payment_method: null, footer: null };

export async function createCustomer(deps: PaymentsDeps, ctx: OperationContext, params: CreateCustomerParams): Promise<Outcome> {
  const base: Customer = {
    id: ctx.ids.next('customer'),
    merchant_id: ctx.merchant_id,
    email: null,
    name: null,
    description: null,
    phone: null,
    metadata: {},
    invoice_prefix: randomBytes(4).toString('hex').toUpperCase(),
    test_clock: params.test_clock ?? null,
    created: ctx.now_s,
    version: 1,
  };
  if (params.test_clock !== undefined) await deps.test_clocks.retrieve(ctx.reader, ctx.merchant_id, params.test_clock);
  const attached = params.payment_method ? await attachNamed(deps, ctx, params.payment_method, base.id) : null;
  // A test id (pm_card_visa) attaches as a stored copy: a default naming it means that copy.
  const renamed = attached && params.invoice_settings?.default_payment_method === params.payment_method ? attached.method.id : undefined;
  const settings = renamed ? { ...params.invoice_settings, default_payment_method: renamed } : params.invoice_settings;
  const customer = applyParams(base, { ...params, invoice_settings: settings });
  await checkDefaultPaymentMethod(deps, ctx, customer, attached?.method.id);
  const outcome: Outcome = { ok: renderCustomer(customer) };
  const writes: SqlFragment[] = attached ? attached.writes : [];
  const events = [
    { type: 'customer.created' as const, object: renderCustomer(customer) },
    ...(attached ? [{ type: 'payment_method.attached' as const, object: renderPaymentMethod(attached.method) }] : []),
  ];
  await ctx.commit([insertCustomer(customer), ...writes, eventsWrite(ctx, events)], outcome);
  return outcome;
}

/** `payment_method` on create: attached as `paymentMethods.attach` would, its errors naming the parameter. */
async function attachNamed(deps: PaymentsDeps, ctx: OperationContext, payment_method: string, customer_id: string) {
  try {
    return await deps.vault.attach(ctx.reader, ctx.ids, ctx.merchant_id, payment_method, customer_id, ctx.now_s);
  } catch (error) {
    if (!(error instanceof PayrailError) || error.param !== undefined) throw error;
    throw new PayrailError(error.code, { param: 'payment_method', message: error.message });
  }
}

/** A concurrent change of the same customer fails the version guard: `lock_timeout` (409), as intents do. */
export async function updateCustomerParams(deps: PaymentsDeps, ctx: OperationContext, id: string, params: CustomerParams): Promise<Outcome> {
  const before = await getCustomer(ctx.reader, ctx.merchant_id, id);
  const customer = { ...applyParams(before, params), version: before.version + 1 };
  await checkDefaultPaymentMethod(deps, ctx, customer);
  const outcome: Outcome = { ok: renderCustomer(customer) };
  const previous_attributes = previousAttributes(renderCustomer(before), renderCustomer(customer));
  await ctx.commit(
    [updateCustomer(customer, before.version), eventsWrite(ctx, [{ type: 'customer.updated', object: renderCustomer(customer), previous_attributes }])],
    outcome,
  );
  return outcome;
}

/** Only the customer's own fields: the request may carry others (such as `expand`). */
function applyParams(before: Customer, params: CustomerParams): Customer {
  const defined = <T>(value: T | undefined, current: T): T => (value === undefined ? current : value);
  const settings = before.invoice_settings ?? NO_INVOICE_SETTINGS;
  const requested = params.invoice_settings;
  return {
    ...before,
    email: defined(params.email, before.email),
    name: defined(params.name, before.name),
    description: defined(params.description, before.description),
    phone: defined(params.phone, before.phone),
    metadata: params.metadata !== undefined ? mergeMetadata(before.metadata, params.metadata) : before.metadata,
    invoice_prefix: params.invoice_prefix ?? before.invoice_prefix,
    address: params.address === undefined ? (before.address ?? null) : params.address === null ? null : { ...emptyAddress(), ...params.address },
    shipping: params.shipping === undefined ? (before.shipping ?? null) : params.shipping === null ? null : shippingOf(params.shipping),
    balance: params.balance ?? before.balance ?? 0,
    next_invoice_sequence: params.next_invoice_sequence ?? before.next_invoice_sequence ?? 1,
    preferred_locales: params.preferred_locales === undefined ? (before.preferred_locales ?? []) : (params.preferred_locales ?? []),
    tax_exempt: params.tax_exempt === undefined ? (before.tax_exempt ?? 'none') : params.tax_exempt === '' ? 'none' : params.tax_exempt,
    invoice_settings: requested
      ? {
          custom_fields: requested.custom_fields === undefined ? settings.custom_fields : requested.custom_fields,
          default_payment_method: defined(requested.default_payment_method, settings.default_payment_method),
          footer: defined(requested.footer, settings.footer),
        }
      : settings,
  };
}

/** Stripe's rule: the default payment method must be one of the customer's own. */
async function checkDefaultPaymentMethod(deps: PaymentsDeps, ctx: OperationContext, customer: Customer, attaching?: string): Promise<void> {
  const id = customer.invoice_settings?.default_payment_method;
  if (!id || id === attaching) return;
  const method = await deps.vault.get(ctx.reader, ctx.merchant_id, id, 'invoice_settings[default_payment_method]').catch(() => undefined);
  if (method?.customer !== customer.id) {
    throw new PayrailError('parameter_invalid', {
      param: 'invoice_settings[default_payment_method]',
      message: `The customer does not have a payment method with the ID ${id.slice(0, 64)}. The payment method must be attached to the customer.`,
    });
  }
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

/** A deleted customer still answers, as Stripe's `{id, object, deleted}` stub (200), on retrieve and on `expand[]=customer`. */
export async function retrieveCustomer(deps: PaymentsDeps, merchant_id: string, id: string): Promise<Record<string, unknown>> {
  if (await customerWasDeleted(deps.reader, merchant_id, id)) return { id, object: 'customer', deleted: true };
  return renderCustomer(await getCustomer(deps.reader, merchant_id, id));
}

export const expandCustomer = retrieveCustomer;

/** As on Stripe, a test clock's customers are listed only when `test_clock` names it, and never otherwise. */
export async function listCustomers(
  deps: PaymentsDeps,
  merchant_id: string,
  page: PageRequest,
  filter: { email?: string | undefined; test_clock?: string | undefined } = {},
): Promise<Page<Record<string, unknown>>> {
  const clock = filter.test_clock === undefined ? sql`test_clock IS NULL` : sql`test_clock = ${filter.test_clock}`;
  const filters = [sql`NOT deleted`, clock, ...(filter.email ? [sql`email = ${filter.email}`] : [])];
  const result = await listPage<Customer>(deps.reader, { table: 'payments.customers', column: 'state' }, merchant_id, filters, page);
  return { data: result.data.map(renderCustomer), has_more: result.has_more };
}

/** Stripe's limit is 3 customers per test clock; this bounds one clock's delete all the same. */
export const CLOCK_CUSTOMERS_LIMIT = 1_000;

/**
 * Stripe deletes a test clock's customers with the clock: the writes (and `customer.deleted` events)
 * that the clock's delete commits in its own transaction.
 */
export async function clockCustomersDeletion(ctx: OperationContext, test_clock: string): Promise<SqlFragment[]> {
  const found = await run<{ state: Customer }>(
    ctx.reader,
    sql`SELECT state FROM payments.customers WHERE merchant_id = ${ctx.merchant_id} AND test_clock = ${test_clock} AND NOT deleted
      ORDER BY id LIMIT ${CLOCK_CUSTOMERS_LIMIT + 1}`,
  );
  if (found.rows.length > CLOCK_CUSTOMERS_LIMIT) throw new Error(`test clock ${test_clock} has more than ${CLOCK_CUSTOMERS_LIMIT} customers`);
  const customers = found.rows.map((row) => row.state);
  if (customers.length === 0) return [];
  return [
    ...customers.map((customer) => updateCustomer({ ...customer, version: customer.version + 1 }, customer.version, true)),
    eventsWrite(
      ctx,
      customers.map((customer) => ({ type: 'customer.deleted', object: renderCustomer(customer) })),
    ),
  ];
}
