/** The dashboard API's answers, as /tmp contracts (docs/dashboard.md) describe them. */

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

export interface TimelineEntry {
  at: number;
  kind: string;
  title: string;
  detail: string | null;
}

export interface PaymentDetail {
  payment: PaymentRow;
  payment_intent: { id: string; status: string; amount_capturable?: number; amount_received?: number; capture_method?: string };
  timeline: TimelineEntry[];
  refunds: { id: string; amount: number; status: string; created: number }[];
  ledger: { id: string; at: number; kind: string; postings: { account: string; amount: number; currency: string }[] }[];
  events: { id: string; type: string; created: number }[];
  deliveries: { event_id: string; endpoint_url: string; attempt: number; status_code: number | null; at: number }[];
}

export interface Money {
  amount: number;
  currency: string;
}
