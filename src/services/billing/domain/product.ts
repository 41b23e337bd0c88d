/** A product: what a merchant sells; its prices say what it costs. */
export interface Product {
  id: string;
  merchant_id: string;
  active: boolean;
  name: string;
  description: string | null;
  default_price: string | null;
  features: { name: string }[];
  images: string[];
  package_dimensions: { height: number; length: number; weight: number; width: number } | null;
  shippable: boolean | null;
  statement_descriptor: string | null;
  unit_label: string | null;
  url: string | null;
  metadata: Record<string, string>;
  created: number;
  updated: number;
  version: number;
}
