/**
 * The shapes of Adyen's Checkout API v71 and standard notifications that the connector sends and reads,
 * after Adyen's published API reference. Answers are parsed, never trusted: a field Adyen adds later
 * passes through, a field the connector relies on that is missing or of the wrong type fails the parse.
 */
import { z } from 'zod';

export const ADYEN_API_VERSION = 'v71';
/** Adyen's limit on an Idempotency-Key ("a maximum of 64 characters"). */
export const ADYEN_IDEMPOTENCY_KEY_MAX = 64;
/** Adyen's limit on `reference` of a payment or modification. */
export const ADYEN_REFERENCE_MAX = 80;

export interface AdyenAmount {
  value: number;
  currency: string;
}

/** POST /payments with plain card fields, as Adyen allows PCI-compliant merchants to send them. */
export interface AdyenPaymentRequest {
  merchantAccount: string;
  reference: string;
  amount: AdyenAmount;
  paymentMethod: { type: 'scheme'; number: string; expiryMonth: string; expiryYear: string; cvc?: string; holderName?: string };
  shopperInteraction: 'Ecommerce' | 'ContAuth';
  recurringProcessingModel?: 'UnscheduledCardOnFile';
  captureDelayHours?: number;
  additionalData?: Record<string, string>;
  authenticationData?: { attemptAuthentication: 'always' | 'never' };
  metadata?: Record<string, string>;
}

export const adyenAmountSchema = z.object({ value: z.number().int().nonnegative(), currency: z.string().length(3) });

export const paymentResponseSchema = z.looseObject({
  pspReference: z.string().min(1).optional(),
  resultCode: z.string().min(1),
  merchantReference: z.string().optional(),
  refusalReason: z.string().optional(),
  refusalReasonCode: z.string().optional(),
  amount: adyenAmountSchema.optional(),
  additionalData: z.record(z.string(), z.string()).optional(),
  action: z.looseObject({ type: z.string(), authorisationToken: z.string().optional() }).optional(),
});
export type AdyenPaymentResponse = z.infer<typeof paymentResponseSchema>;

/** The 201 answer to a capture, refund or cancel: only "received"; the outcome comes by notification. */
export const modificationResponseSchema = z.looseObject({
  pspReference: z.string().min(1),
  status: z.literal('received'),
  merchantAccount: z.string(),
  paymentPspReference: z.string().optional(),
  paymentReference: z.string().optional(),
  reference: z.string().optional(),
});
export type AdyenModificationResponse = z.infer<typeof modificationResponseSchema>;

/** Adyen's error body (ServiceError). */
export const serviceErrorSchema = z.looseObject({
  status: z.number().int(),
  errorCode: z.string(),
  message: z.string(),
  errorType: z.string(),
  pspReference: z.string().optional(),
});
export type AdyenServiceError = z.infer<typeof serviceErrorSchema>;

/** One NotificationRequestItem of a standard notification. Booleans travel as the strings "true"/"false". */
export const notificationItemSchema = z.looseObject({
  eventCode: z.string().min(1),
  success: z.enum(['true', 'false']),
  pspReference: z.string().min(1),
  originalReference: z.string().optional(),
  merchantAccountCode: z.string().min(1),
  merchantReference: z.string(),
  amount: adyenAmountSchema,
  eventDate: z.string(),
  reason: z.string().optional(),
  paymentMethod: z.string().optional(),
  additionalData: z.record(z.string(), z.string()).optional(),
});
export type AdyenNotificationItem = z.infer<typeof notificationItemSchema>;

/** Items per notification request the connector accepts; Adyen batches far fewer. */
export const NOTIFICATION_ITEMS_MAX = 100;

export const notificationRequestSchema = z.looseObject({
  live: z.enum(['true', 'false']),
  notificationItems: z
    .array(z.object({ NotificationRequestItem: notificationItemSchema }))
    .min(1)
    .max(NOTIFICATION_ITEMS_MAX),
});
