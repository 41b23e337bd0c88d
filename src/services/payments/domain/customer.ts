import type { Address, Shipping } from './details.js';

/** A merchant's customer. Deleting keeps the row (marked deleted) so old payments still resolve. */
export interface Customer {
  id: string;
  merchant_id: string;
  email: string | null;
  name: string | null;
  description: string | null;
  phone: string | null;
  metadata: Record<string, string>;
  invoice_prefix: string;
  // Absent on customers stored before they existed; render reads them with their defaults.
  address?: Address | null;
  shipping?: Shipping | null;
  /** Credit (negative) or debt (positive) in minor units of the customer's currency, for invoices. */
  balance?: number;
  next_invoice_sequence?: number;
  preferred_locales?: string[];
  tax_exempt?: 'exempt' | 'none' | 'reverse';
  invoice_settings?: InvoiceSettings;
  /** The test clock the customer was created on (test mode): its billing runs on the clock's time. */
  test_clock?: string | null;
  created: number;
  version: number;
}

export interface InvoiceSettings {
  custom_fields: { name: string; value: string }[] | null;
  default_payment_method: string | null;
  footer: string | null;
}
