import { z } from 'zod';
import type { Db, SqlFragment } from '../../../platform/db.js';
import { joinSql, run, sql } from '../../../platform/db.js';
import * as P from '../../../platform/http/params.js';
import { PayrailError } from '../../../kernel/errors.js';
import type { CursorPage } from '../list-page.js';
import { pageOf, pageSchema } from '../list-page.js';

/**
 * The dashboard's payments list: PaymentIntents newest first, filtered, one page per call with the
 * cursor the next call passes back. Every filter has an index (migrations.ts), so a page is an
 * index scan whatever the merchant's size; the page's charges and customers are read by key.
 */

const INTENT_STATUSES = [
  'requires_payment_method',
  'requires_confirmation',
  'requires_action',
  'processing',
  'requires_capture',
  'canceled',
  'succeeded',
] as const;

export const PAGE_LIMIT_DEFAULT = 25;

export const paymentListSchema = pageSchema
  .extend({
    status: P.oneOf(INTENT_STATUSES).optional(),
    amount_gte: P.amount().optional(),
    amount_lte: P.amount().optional(),
    currency: P.currency().optional(),
    created_gte: P.integer({ min: 0 }).optional(),
    created_lte: P.integer({ min: 0 }).optional(),
    email: P.nonEmptyText(512).optional(),
    last4: P.nonEmptyText(4).optional(),
    metadata_key: P.nonEmptyText(40).optional(),
    metadata_value: P.nonEmptyText(500).optional(),
  })
  .superRefine((query, ctx) => {
    // A value alone would be silently ignored, answering every payment as if it had matched.
    if (query.metadata_value !== undefined && query.metadata_key === undefined) {
      ctx.addIssue({ code: 'custom', path: ['metadata_key'], message: 'Filtering by metadata_value needs the metadata_key it is the value of.' });
    }
  });

export type PaymentListQuery = z.output<typeof paymentListSchema>;

export interface PaymentRow {
  id: string;
  amount: number;
  amount_refunded: number;
  currency: string;
  status: string;
  created: number;
  customer_email: string | null;
  card: { brand: string; last4: string } | null;
  description: string | null;
  metadata: Record<string, string>;
}

/** The conditions each filter adds; `id` is the intent's, `merchant_id` the current merchant's. */
export function paymentFilters(merchant_id: string, query: PaymentListQuery, email_customers: readonly string[] = []): SqlFragment[] {
  const email = query.email?.toLowerCase();
  const metadata_value = query.metadata_value;
  return [
    sql`pi.merchant_id = ${merchant_id}`,
    ...(query.status !== undefined ? [sql`pi.status = ${query.status}`] : []),
    ...(query.amount_gte !== undefined ? [sql`pi.amount >= ${query.amount_gte}`] : []),
    ...(query.amount_lte !== undefined ? [sql`pi.amount <= ${query.amount_lte}`] : []),
    ...(query.currency !== undefined ? [sql`pi.currency = ${query.currency}`] : []),
    ...(query.created_gte !== undefined ? [sql`pi.created >= ${query.created_gte}`] : []),
    ...(query.created_lte !== undefined ? [sql`pi.created <= ${query.created_lte}`] : []),
    // The customers with that email are looked up first (customersWithEmail): an OR of two index conditions, not a join.
    ...(email !== undefined ? [sql`(lower(pi.state ->> 'receipt_email') = ${email} OR pi.customer_id = ANY(${email_customers}::text[]))`] : []),
    ...(query.last4 !== undefined
      ? [
          sql`pi.id IN (SELECT ch.payment_intent_id FROM payments.charges ch WHERE ch.merchant_id = ${merchant_id} AND ch.state -> 'card' ->> 'last4' = ${query.last4})`,
        ]
      : []),
    ...(query.metadata_key !== undefined && metadata_value === undefined ? [sql`(pi.state -> 'metadata')::jsonb ? ${query.metadata_key}`] : []),
    ...(query.metadata_key !== undefined && metadata_value !== undefined
      ? [sql`(pi.state -> 'metadata')::jsonb @> jsonb_build_object(${query.metadata_key}::text, ${metadata_value}::text)`]
      : []),
    ...(query.starting_after !== undefined ? [sql`pi.id < ${query.starting_after}`] : []),
  ];
}

/** The page's intents, by the filters: one index scan, newest first. */
export function intentPageQuery(filters: readonly SqlFragment[], limit: number): SqlFragment {
  return joinSql(
    [
      sql`SELECT pi.id, pi.amount, pi.currency, pi.status, pi.created, pi.customer_id, pi.state ->> 'description' AS description,
        pi.state -> 'metadata' AS metadata, pi.state ->> 'receipt_email' AS receipt_email
      FROM payments.payment_intents pi WHERE `,
      joinSql(filters, ' AND '),
      sql` ORDER BY pi.id DESC LIMIT ${limit}`,
    ],
    '',
  );
}

/** The page's attempts, by intent (charges_by_intent): what was refunded, and the latest attempt's card. */
export function chargeSummaryQuery(merchant_id: string, intent_ids: readonly string[]): SqlFragment {
  return sql`
    SELECT payment_intent_id, coalesce(sum(amount_refunded), 0)::bigint AS amount_refunded,
      (array_agg(state -> 'card' ->> 'brand' ORDER BY id DESC))[1] AS brand,
      (array_agg(state -> 'card' ->> 'last4' ORDER BY id DESC))[1] AS last4
    FROM payments.charges WHERE merchant_id = ${merchant_id} AND payment_intent_id = ANY(${intent_ids}::text[])
    GROUP BY payment_intent_id`;
}

interface IntentRow {
  id: string;
  amount: string;
  currency: string;
  status: string;
  created: string;
  customer_id: string | null;
  description: string | null;
  metadata: Record<string, string> | null;
  receipt_email: string | null;
}

interface ChargeSummary {
  payment_intent_id: string;
  amount_refunded: string;
  brand: string | null;
  last4: string | null;
}

export async function listPayments(db: Db, merchant_id: string, query: PaymentListQuery): Promise<CursorPage<PaymentRow>> {
  const limit = query.limit ?? PAGE_LIMIT_DEFAULT;
  await checkCursor(db, merchant_id, query.starting_after);
  const email_customers = query.email === undefined ? [] : await customersWithEmail(db, merchant_id, query.email);
  const rows = (await run<IntentRow>(db, intentPageQuery(paymentFilters(merchant_id, query, email_customers), limit + 1))).rows;
  const page = pageOf(rows, limit, (row) => row.id);
  return { ...page, data: await withCharges(db, merchant_id, page.data) };
}

/**
 * As /v1's lists: the cursor names one of the merchant's payments. An unknown one would page from
 * wherever it sorts (any text compares), answering a page the caller never reached.
 */
async function checkCursor(db: Db, merchant_id: string, cursor: string | undefined): Promise<void> {
  if (cursor === undefined) return;
  const found = await run(db, sql`SELECT 1 FROM payments.payment_intents WHERE merchant_id = ${merchant_id} AND id = ${cursor}`);
  if (found.rowCount === 0) {
    throw new PayrailError('resource_missing', { param: 'starting_after', message: `No such payment for starting_after: '${cursor.slice(0, 64)}'` });
  }
}

/** Customers one email filter matches at most: an email is one person's, rarely a few customers'. */
const EMAIL_CUSTOMERS_MAX = 100;

/** The merchant's customers with `email`, whatever its case (customers_by_lower_email). */
export async function customersWithEmail(db: Db, merchant_id: string, email: string): Promise<string[]> {
  const result = await run<{ id: string }>(
    db,
    sql`SELECT id FROM payments.customers WHERE merchant_id = ${merchant_id} AND lower(email) = ${email.toLowerCase()} ORDER BY id DESC LIMIT ${EMAIL_CUSTOMERS_MAX}`,
  );
  return result.rows.map((row) => row.id);
}

/** Each intent with its attempts' summary and its customer's email, read by key for the page's rows only. */
async function withCharges(db: Db, merchant_id: string, intents: IntentRow[]): Promise<PaymentRow[]> {
  if (intents.length === 0) return [];
  const summaries = (
    await run<ChargeSummary>(
      db,
      chargeSummaryQuery(
        merchant_id,
        intents.map((intent) => intent.id),
      ),
    )
  ).rows;
  const by_intent = new Map(summaries.map((summary) => [summary.payment_intent_id, summary]));
  const customer_ids = [...new Set(intents.flatMap((intent) => (intent.customer_id ? [intent.customer_id] : [])))];
  const customers =
    customer_ids.length === 0
      ? []
      : (
          await run<{ id: string; email: string | null }>(
            db,
            sql`SELECT id, email FROM payments.customers WHERE merchant_id = ${merchant_id} AND id = ANY(${customer_ids}::text[])`,
          )
        ).rows;
  const emails = new Map(customers.map((customer) => [customer.id, customer.email]));
  return intents.map((intent) => toPaymentRow(intent, by_intent.get(intent.id), intent.customer_id ? emails.get(intent.customer_id) : undefined));
}

function toPaymentRow(intent: IntentRow, charges: ChargeSummary | undefined, customer_email: string | null | undefined): PaymentRow {
  return {
    id: intent.id,
    amount: Number(intent.amount),
    amount_refunded: Number(charges?.amount_refunded ?? 0),
    currency: intent.currency,
    status: intent.status,
    created: Number(intent.created),
    customer_email: customer_email ?? intent.receipt_email,
    card: charges?.brand && charges.last4 ? { brand: charges.brand, last4: charges.last4 } : null,
    description: intent.description,
    metadata: intent.metadata ?? {},
  };
}

/** One payment's list row, for the detail page's header. */
export async function paymentRow(db: Db, merchant_id: string, id: string): Promise<PaymentRow | undefined> {
  const rows = (await run<IntentRow>(db, intentPageQuery([sql`pi.merchant_id = ${merchant_id}`, sql`pi.id = ${id}`], 1))).rows;
  return (await withCharges(db, merchant_id, rows))[0];
}
