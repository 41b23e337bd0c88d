import { z } from 'zod';

/**
 * What crosses the network between an API process and the risk process (remote-server.ts,
 * remote-client.ts): the scorer's signals, an attempt's result and the score. Signals carry no card
 * number — only its keyed fingerprint, BIN and last four — and a body that looks like it does is refused.
 */

export const RISK_PATH_PREFIX = '/risk/v1/';

/** Twelve digits or more in a row is a card number's shape; no signal field may carry one. */
const NO_CARD_NUMBER = /\d{12,}/;
const text = (max: number) =>
  z
    .string()
    .max(max)
    .refine((value) => !NO_CARD_NUMBER.test(value), { message: 'must not carry a card number' });
const check = z.enum(['pass', 'fail', 'unavailable', 'unchecked']).nullable();

export const riskSignalsSchema = z.strictObject({
  merchant_id: z.string().regex(/^acct_[A-Za-z0-9_]{1,250}$/),
  livemode: z.boolean(),
  created: z.number().int().nonnegative(),
  amount: z.number().int().nonnegative(),
  currency: z.string().regex(/^[a-z]{3}$/),
  amount_in_usd: z.number().int().nonnegative(),
  card_fingerprint: z
    .string()
    .regex(/^[A-Za-z0-9]{1,64}$/)
    .refine((value) => !NO_CARD_NUMBER.test(value), { message: 'must not carry a card number' }),
  card_bin: z
    .string()
    .regex(/^[0-9]{6,8}$/)
    .nullable(),
  card_last4: z.string().regex(/^[0-9]{4}$/),
  card_brand: text(32),
  card_country: text(2).nullable(),
  card_funding: text(16).nullable(),
  ip_address: text(64).nullable(),
  email: text(512).nullable(),
  customer_id: text(255).nullable(),
  cvc_check: check,
  address_line1_check: check,
  address_postal_code_check: check,
});

export const recordBodySchema = z.strictObject({
  signals: riskSignalsSchema,
  result: z.enum(['authorized', 'declined', 'blocked']),
});

export const riskScoreSchema = z.object({
  score: z.number().int().min(0).max(100),
  level: z.enum(['normal', 'elevated', 'highest']),
  model_version: z.string(),
  ip_country: z.string().nullable(),
  attributes: z.record(z.string(), z.union([z.number(), z.string(), z.boolean(), z.null()])),
});
