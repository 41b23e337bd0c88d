/**
 * The columns of Adyen's Settlement details report, in Adyen's order: the format processors settle in
 * here. The sandbox writes it and the settlement service reads it, from this one list.
 */
export const SETTLEMENT_REPORT_COLUMNS = [
  'Company Account',
  'Merchant Account',
  'Psp Reference',
  'Merchant Reference',
  'Payment Method',
  'Creation Date',
  'TimeZone',
  'Type',
  'Modification Reference',
  'Gross Currency',
  'Gross Debit (GC)',
  'Gross Credit (GC)',
  'Exchange Rate',
  'Net Currency',
  'Net Debit (NC)',
  'Net Credit (NC)',
  'Commission (NC)',
  'Markup (NC)',
  'Scheme Fees (NC)',
  'Interchange (NC)',
  'Payment Method Variant',
  'Modification Merchant Reference',
  'Batch Number',
] as const;
export type SettlementReportColumn = (typeof SETTLEMENT_REPORT_COLUMNS)[number];
