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
  created: number;
  version: number;
}
