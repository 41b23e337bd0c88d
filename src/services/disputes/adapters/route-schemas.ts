import { z } from 'zod';
import * as P from '../../../platform/http/params.js';
import { expandable, expandableList } from '../../../platform/http/expandable.js';
import { FILE_EVIDENCE_FIELDS, TEXT_EVIDENCE_FIELDS } from '../domain/dispute.js';
import type { TextEvidenceField } from '../domain/dispute.js';

/**
 * The parameters of /v1/disputes as Stripe documents them. Strict objects: an unknown parameter or
 * evidence field is a 400 naming it; the file evidence fields are refused by name (no Files API yet).
 */

/** A dispute expands its charge and PaymentIntent; the rest of Stripe's expandable fields are embedded already. */
export function canExpandDisputePath(segments: readonly string[]): boolean {
  const [field, ...rest] = segments;
  return rest.length === 0 && (field === 'charge' || field === 'payment_intent' || field === 'balance_transactions' || field === 'evidence');
}

const refusedFile = (param: string) =>
  z.unknown().transform((_value, ctx) => {
    ctx.addIssue({
      code: 'custom',
      message: `Received unknown parameter: evidence[${param}]. File evidence needs an uploaded file, and Payrail has no Files API yet; describe it in uncategorized_text.`,
      params: { stripe_code: 'parameter_unknown' },
    });
    return z.NEVER;
  });

const textFields = Object.fromEntries(
  (Object.entries(TEXT_EVIDENCE_FIELDS) as [TextEvidenceField, number][]).map(([field, max]) => [field, P.clearableText(max).optional()]),
) as Record<TextEvidenceField, z.ZodOptional<ReturnType<typeof P.clearableText>>>;
const fileFields = Object.fromEntries(FILE_EVIDENCE_FIELDS.map((field) => [field, refusedFile(field).optional()]));

const evidence = z.strictObject({ ...textFields, ...fileFields });

export const updateSchema = z.strictObject({
  evidence: evidence.optional(),
  metadata: P.metadata().optional(),
  submit: P.boolean().optional(),
  expand: expandable(canExpandDisputePath).optional(),
});

export const closeSchema = z.strictObject({ expand: expandable(canExpandDisputePath).optional() });
export const retrieveSchema = z.strictObject({ expand: expandable(canExpandDisputePath).optional() });

export const listSchema = z.strictObject({
  ...P.listParams,
  expand: expandableList(canExpandDisputePath).optional(),
  charge: P.nonEmptyText(255).optional(),
  payment_intent: P.nonEmptyText(255).optional(),
});

/** An early fraud warning expands its charge and PaymentIntent. */
export function canExpandWarningPath(segments: readonly string[]): boolean {
  const [field, ...rest] = segments;
  return rest.length === 0 && (field === 'charge' || field === 'payment_intent');
}

export const retrieveWarningSchema = z.strictObject({ expand: expandable(canExpandWarningPath).optional() });

/** Stripe's list has no `created` filter for early fraud warnings. */
export const listWarningsSchema = z.strictObject({
  limit: P.listParams.limit,
  starting_after: P.listParams.starting_after,
  ending_before: P.listParams.ending_before,
  expand: expandableList(canExpandWarningPath).optional(),
  charge: P.nonEmptyText(255).optional(),
  payment_intent: P.nonEmptyText(255).optional(),
});
