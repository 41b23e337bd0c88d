/**
 * Stripe's expandable fields of the objects payments serves, as a graph: each object type names the
 * fields `expand[]` may name, and what each leads to. `load` fields hold an id Payrail replaces with
 * its object; the others lead into an embedded object (`invoice_settings`) or a list (`refunds`), so a
 * path may go on through them (`invoice_settings.default_payment_method`). Fields Stripe documents as
 * expandable that Payrail always leaves null (`invoice`, `application`, …) are listed so expanding them is
 * the no-op it is on Stripe. Anything else is refused, as Stripe refuses it.
 */
export type ObjectType =
  | 'payment_intent'
  | 'setup_intent'
  | 'setup_attempt'
  | 'charge'
  | 'refund'
  | 'customer'
  | 'payment_method'
  | 'balance_transaction'
  | 'payment_error'
  | 'invoice_settings'
  | 'list_of_refunds'
  | 'list_of_charges'
  | 'review'
  | 'charge_outcome'
  | 'opaque';

export type Loadable =
  | 'payment_intent'
  | 'setup_intent'
  | 'setup_attempt'
  | 'charge'
  | 'refund'
  | 'customer'
  | 'payment_method'
  | 'balance_transaction'
  | 'review'
  | 'radar_rule'
  | 'test_clock';

export interface Edge {
  to: ObjectType;
  /** The field holds this kind of object's id, replaced by the object when expanded. */
  load?: Loadable;
  /**
   * The field is left out of the object unless expanded (Stripe's includable lists, such as a
   * customer's `sources` since 2020-08-27); Payrail has none of their items, so it is an empty list.
   */
  included_list?: true;
}

const NULL_ALWAYS: Edge = { to: 'opaque' };
const EMPTY_WHEN_INCLUDED: Edge = { to: 'opaque', included_list: true };

export const GRAPH: Record<ObjectType, Record<string, Edge>> = {
  payment_intent: {
    customer: { to: 'customer', load: 'customer' },
    latest_charge: { to: 'charge', load: 'charge' },
    payment_method: { to: 'payment_method', load: 'payment_method' },
    last_payment_error: { to: 'payment_error' },
    /** Only in versions before 2022-11-15, which list an intent's charges (legacy-versions.ts refuses it in later ones). */
    charges: { to: 'list_of_charges' },
    application: NULL_ALWAYS,
    invoice: NULL_ALWAYS,
    on_behalf_of: NULL_ALWAYS,
    review: { to: 'review', load: 'review' },
  },
  setup_intent: {
    customer: { to: 'customer', load: 'customer' },
    payment_method: { to: 'payment_method', load: 'payment_method' },
    last_setup_error: { to: 'payment_error' },
    application: NULL_ALWAYS,
    latest_attempt: { to: 'setup_attempt', load: 'setup_attempt' },
    mandate: NULL_ALWAYS,
    on_behalf_of: NULL_ALWAYS,
    single_use_mandate: NULL_ALWAYS,
  },
  charge: {
    balance_transaction: { to: 'balance_transaction', load: 'balance_transaction' },
    customer: { to: 'customer', load: 'customer' },
    payment_intent: { to: 'payment_intent', load: 'payment_intent' },
    payment_method: { to: 'payment_method', load: 'payment_method' },
    refunds: { to: 'list_of_refunds' },
    application: NULL_ALWAYS,
    failure_balance_transaction: NULL_ALWAYS,
    invoice: NULL_ALWAYS,
    on_behalf_of: NULL_ALWAYS,
    review: { to: 'review', load: 'review' },
    outcome: { to: 'charge_outcome' },
    source_transfer: NULL_ALWAYS,
    // `transfer` and `application_fee` name a destination charge's objects (Connect), which
    // payments cannot load: expanding them is refused rather than answered with a bare id.
  },
  refund: {
    balance_transaction: { to: 'balance_transaction', load: 'balance_transaction' },
    charge: { to: 'charge', load: 'charge' },
    payment_intent: { to: 'payment_intent', load: 'payment_intent' },
    failure_balance_transaction: NULL_ALWAYS,
    source_transfer_reversal: NULL_ALWAYS,
    // `transfer_reversal` (a destination charge's refund, Connect) is not loadable here: refused, as on a charge.
  },
  customer: {
    invoice_settings: { to: 'invoice_settings' },
    default_source: NULL_ALWAYS,
    test_clock: { to: 'opaque', load: 'test_clock' },
    sources: EMPTY_WHEN_INCLUDED,
    subscriptions: EMPTY_WHEN_INCLUDED,
    tax_ids: EMPTY_WHEN_INCLUDED,
  },
  setup_attempt: {
    customer: { to: 'customer', load: 'customer' },
    payment_method: { to: 'payment_method', load: 'payment_method' },
    setup_intent: { to: 'setup_intent', load: 'setup_intent' },
    setup_error: { to: 'payment_error' },
    application: NULL_ALWAYS,
    on_behalf_of: NULL_ALWAYS,
  },
  payment_method: { customer: { to: 'customer', load: 'customer' } },
  balance_transaction: {},
  payment_error: { payment_method: { to: 'payment_method', load: 'payment_method' } },
  invoice_settings: { default_payment_method: { to: 'payment_method', load: 'payment_method' } },
  list_of_refunds: { data: { to: 'refund' } },
  list_of_charges: { data: { to: 'charge' } },
  review: { charge: { to: 'charge', load: 'charge' }, payment_intent: { to: 'payment_intent', load: 'payment_intent' } },
  /** The Radar rule that decided: Stripe's `rule` object (`id`, `action`, `predicate`), nothing further to expand. */
  charge_outcome: { rule: { to: 'opaque', load: 'radar_rule' } },
  opaque: {},
};

/** The type of the items of a list, from the list's URL (an empty list has no item to tell). */
export function listItemType(url: unknown): ObjectType | undefined {
  if (typeof url !== 'string') return undefined;
  if (/^\/v1\/customers\/[^/]+\/payment_methods/.test(url) || url.startsWith('/v1/payment_methods')) return 'payment_method';
  const prefixes: [string, ObjectType][] = [
    ['/v1/payment_intents', 'payment_intent'],
    ['/v1/setup_intents', 'setup_intent'],
    ['/v1/setup_attempts', 'setup_attempt'],
    ['/v1/charges', 'charge'],
    ['/v1/refunds', 'refund'],
    ['/v1/customers', 'customer'],
    ['/v1/reviews', 'review'],
  ];
  return prefixes.find(([prefix]) => url.startsWith(prefix))?.[1];
}

export function isObjectType(value: unknown): value is ObjectType {
  return typeof value === 'string' && value in GRAPH;
}

/** Whether every step of `segments`, from an object of type `from`, is an expandable field. */
export function canExpand(from: ObjectType, segments: readonly string[]): boolean {
  let type = from;
  for (const segment of segments) {
    const edge = GRAPH[type][segment];
    if (!edge) return false;
    type = edge.to;
  }
  return true;
}
