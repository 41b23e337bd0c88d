/** A stored card as the rest of Payrail sees it: metadata only, never the number. */
export interface CardDetails {
  brand: string;
  last4: string;
  exp_month: number;
  exp_year: number;
  fingerprint: string;
  funding: string;
  country: string | null;
}

export interface BillingDetails {
  address: null | Record<string, string | null>;
  email: string | null;
  name: string | null;
  phone: string | null;
}

export interface PaymentMethodRecord {
  id: string;
  merchant_id: string;
  customer: string | null;
  card: CardDetails;
  billing_details: BillingDetails;
  metadata: Record<string, string>;
  created: number;
  version: number;
}
