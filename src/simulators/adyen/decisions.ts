/**
 * How the Adyen simulator validates a /payments request and decides its outcome: pure code, after
 * Adyen's published test behaviour ("Testing result codes and refusal reasons"), with one documented
 * addition so Payrail's Stripe test cards mean the same thing whichever connector a payment takes.
 *
 * Order: `additionalData.RequestedTestAcquirerResponseCode`, then `paymentMethod.holderName` (one of
 * Adyen's response code names, optionally `NAME : <scheme code> : <raw text>`), then the card number
 * (Stripe's test cards, Adyen's 3DS2 test card), then Adyen's rule that a wrong CVC on one of its own
 * test cards is refused; everything else is Authorised.
 */
import { z } from 'zod';

/** [refusalReasonCode, holderName that triggers it, Adyen's refusalReason]. */
const REFUSALS: ReadonlyArray<readonly [string, string, string]> = [
  ['2', 'DECLINED', 'Refused'],
  ['3', 'REFERRAL', 'Referral'],
  ['4', 'ERROR', 'Acquirer Error'],
  ['5', 'BLOCK_CARD', 'Blocked Card'],
  ['6', 'CARD_EXPIRED', 'Expired Card'],
  ['7', 'INVALID_AMOUNT', 'Invalid Amount'],
  ['8', 'INVALID_CARD', 'Invalid Card Number'],
  ['9', 'ISSUER_UNAVAILABLE', 'Issuer Unavailable'],
  ['10', 'NOT_SUPPORTED', 'Not supported'],
  ['11', 'NOT_3D_AUTHENTICATED', '3D Not Authenticated'],
  ['12', 'NOT_ENOUGH_BALANCE', 'Not enough balance'],
  ['14', 'ACQUIRER_FRAUD', 'Acquirer Fraud'],
  ['15', 'CANCELLED', 'Cancelled'],
  ['16', 'SHOPPER_CANCELLED', 'Shopper Cancelled'],
  ['17', 'INVALID_PIN', 'Invalid Pin'],
  ['18', 'PIN_TRIES_EXCEEDED', 'Pin tries exceeded'],
  ['20', 'FRAUD', 'FRAUD'],
  ['24', 'CVC_DECLINED', 'CVC Declined'],
  ['25', 'RESTRICTED_CARD', 'Restricted Card'],
  ['26', 'REVOCATION_OF_AUTH', 'Revocation Of Auth'],
  ['27', 'DECLINED_NON_GENERIC', 'Declined Non Generic'],
  ['28', 'WITHDRAWAL_AMOUNT_EXCEEDED', 'Withdrawal amount exceeded'],
  ['29', 'WITHDRAWAL_COUNT_EXCEEDED', 'Withdrawal count exceeded'],
  ['31', 'ISSUER_SUSPECTED_FRAUD', 'Issuer Suspected Fraud'],
  ['32', 'AVS_DECLINED', 'AVS Declined'],
  ['38', 'AUTHENTICATION_REQUIRED', 'Authentication required'],
];

export type Decision =
  | { kind: 'authorised' }
  | { kind: 'refused'; code: string; reason: string; raw?: string; cvc_result?: string }
  | { kind: 'error'; code: string; reason: string }
  | { kind: 'challenge' };

function refusal(code: string, raw?: string): Decision {
  const entry = REFUSALS.find(([known]) => known === code);
  if (!entry) return { kind: 'refused', code: '2', reason: 'Refused' };
  if (code === '4') return { kind: 'error', code, reason: entry[2] };
  return { kind: 'refused', code, reason: entry[2], ...(raw === undefined ? {} : { raw }) };
}

const ATTACH_THEN_DECLINE_CARD = '4000000000000341';

/** Stripe's test cards (Payrail's sandbox semantics) and Adyen's 3DS2 card; a simulator addition, not Adyen's list. */
const CARD_DECISIONS: ReadonlyMap<string, Decision> = new Map<string, Decision>([
  ['4000000000000002', refusal('2')],
  [ATTACH_THEN_DECLINE_CARD, refusal('2')],
  ['4000000000009995', refusal('12')],
  ['4000000000009987', refusal('5', '41 : LOST CARD')],
  ['4000000000009979', refusal('5', '43 : STOLEN CARD')],
  ['4000000000000069', refusal('6')],
  ['4000000000000127', { ...refusal('24'), cvc_result: '2 Does not match' } as Decision],
  ['4000000000000119', refusal('4')],
  ['4000002760003184', { kind: 'challenge' }],
  ['4917610000000000', { kind: 'challenge' }],
]);

/** Adyen's own test cards and the CVC each expects ("737", "7373" for American Express). */
const ADYEN_TEST_CARD_CVC: ReadonlyMap<string, string> = new Map([
  ['4111111145551142', '737'],
  ['5555341244441115', '737'],
  ['2222400070000005', '737'],
  ['370000000000002', '7373'],
]);

export const paymentRequestSchema = z.looseObject({
  merchantAccount: z.string(),
  reference: z.string().min(1).max(80),
  amount: z.object({ value: z.number().int().nonnegative(), currency: z.string().regex(/^[A-Z]{3}$/) }),
  paymentMethod: z.looseObject({
    type: z.literal('scheme'),
    number: z.string(),
    expiryMonth: z.string(),
    expiryYear: z.string(),
    cvc: z.string().optional(),
    holderName: z.string().max(80).optional(),
  }),
  shopperInteraction: z.enum(['Ecommerce', 'ContAuth', 'Moto', 'POS']).optional(),
  recurringProcessingModel: z.string().optional(),
  captureDelayHours: z.number().int().nonnegative().optional(),
  additionalData: z.record(z.string(), z.string()).optional(),
  authenticationData: z.looseObject({ attemptAuthentication: z.enum(['always', 'never']).optional() }).optional(),
  metadata: z.record(z.string().max(20), z.string().max(80)).optional(),
});
export type PaymentRequest = z.infer<typeof paymentRequestSchema>;

export interface ValidationFailure {
  status: number;
  errorCode: string;
  message: string;
  errorType: 'validation' | 'security';
}

function luhn(number: string): boolean {
  let sum = 0;
  for (let i = 0; i < number.length; i += 1) {
    let digit = Number(number[number.length - 1 - i]);
    if (i % 2 === 1) digit = digit * 2 > 9 ? digit * 2 - 9 : digit * 2;
    sum += digit;
  }
  return sum % 10 === 0;
}

const fail = (failure: ValidationFailure) => ({ ok: false as const, failure });

/** The body's problems, Adyen's way: the first one found, with Adyen's error code for it. */
export function validatePayment(
  body: unknown,
  merchant_accounts: ReadonlySet<string>,
): { ok: false; failure: ValidationFailure } | { ok: true; request: PaymentRequest } {
  const raw = (typeof body === 'object' && body !== null ? body : {}) as Record<string, unknown>;
  if (typeof raw['merchantAccount'] !== 'string' || !merchant_accounts.has(raw['merchantAccount'])) {
    return fail({ status: 403, errorCode: '901', message: 'Invalid Merchant Account', errorType: 'security' });
  }
  if (raw['amount'] === undefined)
    return fail({ status: 422, errorCode: '100', message: "Required object 'amount' is not provided.", errorType: 'validation' });
  if (raw['reference'] === undefined) return fail({ status: 422, errorCode: '130', message: 'Reference Missing', errorType: 'validation' });
  const parsed = paymentRequestSchema.safeParse(body);
  if (!parsed.success) {
    const field = parsed.error.issues[0]?.path.join('.') ?? 'body';
    return fail({ status: 422, errorCode: '000', message: `Field '${field}' is not valid.`, errorType: 'validation' });
  }
  const card = parsed.data.paymentMethod;
  if (!/^\d{12,19}$/.test(card.number) || !luhn(card.number))
    return fail({ status: 422, errorCode: '101', message: 'Invalid card number', errorType: 'validation' });
  if (card.cvc !== undefined && !/^\d{3,4}$/.test(card.cvc))
    return fail({ status: 422, errorCode: '103', message: 'CVC is not the right length', errorType: 'validation' });
  const month = Number(card.expiryMonth);
  if (!/^\d{1,2}$/.test(card.expiryMonth) || month < 1 || month > 12 || !/^\d{4}$/.test(card.expiryYear)) {
    return fail({ status: 422, errorCode: '129', message: 'Expiry Date Invalid', errorType: 'validation' });
  }
  return { ok: true, request: parsed.data };
}

/** The outcome of a valid payment request. */
export function decidePayment(request: PaymentRequest): Decision {
  const test_code = request.additionalData?.['RequestedTestAcquirerResponseCode'];
  if (test_code !== undefined) return test_code === '1' ? { kind: 'authorised' } : refusal(test_code);
  const [holder_code, ...raw_parts] = (request.paymentMethod.holderName ?? '').split(':').map((part) => part.trim());
  const named = REFUSALS.find(([, name]) => name === holder_code);
  if (holder_code === 'APPROVED') return { kind: 'authorised' };
  if (named) return refusal(named[0], raw_parts.length > 0 ? raw_parts.join(' : ') : undefined);
  const off_session = request.shopperInteraction === 'ContAuth';
  const by_card = CARD_DECISIONS.get(request.paymentMethod.number);
  const wants_challenge = by_card?.kind === 'challenge' || request.authenticationData?.attemptAuthentication === 'always';
  if (wants_challenge) return off_session ? refusal('38') : { kind: 'challenge' };
  // Stripe's 4000000000000341 attaches (a zero-amount verification passes) and then declines every charge.
  if (by_card && !(request.paymentMethod.number === ATTACH_THEN_DECLINE_CARD && request.amount.value === 0)) return by_card;
  const expected_cvc = ADYEN_TEST_CARD_CVC.get(request.paymentMethod.number);
  if (expected_cvc !== undefined && request.paymentMethod.cvc !== undefined && request.paymentMethod.cvc !== expected_cvc) return refusal('2');
  return { kind: 'authorised' };
}
