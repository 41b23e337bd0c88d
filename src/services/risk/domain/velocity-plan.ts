import { hash } from 'node:crypto';
import { isPublicAddress } from './client-address.js';
import type { AttemptResult, RiskSignals } from './signals.js';
import type { WindowQuery, WindowWrite } from './windows.js';

/**
 * Which windows an attempt reads before it is scored and writes once its result is known. Card,
 * email and IP windows span every merchant of the installation (as Radar's network does: a card
 * tested at one shop is suspect at the next); first-seen-on-merchant, card testing and amounts are
 * per merchant. Emails and IP addresses are keyed by a hash, so Redis never holds them in clear.
 */

const MINUTE_MS = 60_000;
const HOUR_MS = 60 * MINUTE_MS;
const DAY_MS = 24 * HOUR_MS;
const WEEK_MS = 7 * DAY_MS;
const BURST_MS = 10 * MINUTE_MS;
const FIRST_SEEN_TTL_MS = 365 * DAY_MS;
const KNOWN_CARD_TTL_MS = 180 * DAY_MS;
/** Attempts under this many US cents count as small, the card-testing kind ($5). */
export const SMALL_CHARGE_USD_CENTS = 500;

export const VELOCITY_WINDOWS = { hourly: HOUR_MS, daily: DAY_MS, weekly: WEEK_MS } as const;
const RESULTS: readonly AttemptResult[] = ['authorized', 'declined', 'blocked'];
const WINDOW_LENGTHS = Object.values(VELOCITY_WINDOWS);
/** Radar's grid names, `declined_charges_per_email_daily` and the rest, by result and entity. */
const GRID_NAMES: Readonly<Record<string, readonly string[]>> = Object.fromEntries(
  RESULTS.flatMap((result) =>
    ['card_number', 'email', 'ip_address', 'customer'].map((entity) => [
      `${result}/${entity}`,
      Object.keys(VELOCITY_WINDOWS).map((window) => `${result}_charges_per_${entity}_${window}`),
    ]),
  ),
);

export interface Entities {
  card: string;
  email: string | null;
  ip: string | null;
  customer: string | null;
  merchant: string;
  email_member: string | null;
  ip_member: string | null;
}

/** Recent digests, so a returning shopper's email and address are hashed once (bounded). */
const digests = new Map<string, string>();
const MAX_CACHED_DIGESTS = 10_000;

function digest(value: string): string {
  const cached = digests.get(value);
  if (cached !== undefined) return cached;
  const computed = hash('sha256', value, 'base64url').slice(0, 22);
  if (digests.size >= MAX_CACHED_DIGESTS) digests.clear();
  digests.set(value, computed);
  return computed;
}

export function entitiesOf(signals: RiskSignals): Entities {
  const mode = signals.livemode ? 'l' : 't';
  const email_member = signals.email === null ? null : digest(signals.email.trim().toLowerCase());
  const ip_member = signals.ip_address === null || !isPublicAddress(signals.ip_address) ? null : digest(signals.ip_address);
  return {
    card: `${mode}:card:${signals.card_fingerprint}`,
    email: email_member === null ? null : `${mode}:email:${email_member}`,
    ip: ip_member === null ? null : `${mode}:ip:${ip_member}`,
    customer: signals.customer_id === null ? null : `${mode}:cus:${signals.merchant_id}:${signals.customer_id}`,
    merchant: `${mode}:m:${signals.merchant_id}`,
    email_member,
    ip_member,
  };
}

export function amountStatsKey(signals: RiskSignals): string {
  return `${signals.livemode ? 'l' : 't'}:m:${signals.merchant_id}:amount:${signals.currency}`;
}

/** Named queries, answered in the order they were added: one name per value a query answers. */
export class QueryPlan {
  readonly queries: WindowQuery[] = [];
  private readonly names: string[] = [];
  add(names: readonly string[], query: WindowQuery): void {
    this.names.push(...names);
    this.queries.push(query);
  }
  decode(values: readonly number[]): Record<string, number> {
    const readings: Record<string, number> = {};
    this.names.forEach((name, index) => {
      readings[name] = values[index] ?? 0;
    });
    return readings;
  }
}

/** Everything the features need, read before the attempt is scored (so it counts earlier attempts only). */
export function planReads(signals: RiskSignals, ip_country: string | null, now_ms: number): QueryPlan {
  const plan = new QueryPlan();
  const e = entitiesOf(signals);
  const since = (window_ms: number): number => now_ms - window_ms;
  const grid: Array<[string, string | null]> = [
    ['card_number', e.card],
    ['email', e.email],
    ['ip_address', e.ip],
    ['customer', e.customer],
  ];
  const windows = WINDOW_LENGTHS.map(since);
  for (const [name, key] of grid) {
    if (key === null) continue;
    for (const result of RESULTS) plan.add(GRID_NAMES[`${result}/${name}`] ?? [], { kind: 'count', key: `${key}:${result}`, since_ms: windows });
  }
  const fp = signals.card_fingerprint;
  const hour_day = [since(HOUR_MS), since(DAY_MS)];
  const day_week = [since(DAY_MS), since(WEEK_MS)];
  if (e.ip !== null && e.ip_member !== null) {
    plan.add(['card_count_for_ip_address_hourly', 'card_count_for_ip_address_daily'], {
      kind: 'distinct',
      key: `${e.ip}:cards`,
      since_ms: hour_day,
      member: fp,
    });
    plan.add(['small_charges_per_ip_address_hourly'], { kind: 'count', key: `${e.ip}:small`, since_ms: [since(HOUR_MS)] });
    plan.add(['ip_address_count_for_card_hourly'], { kind: 'distinct', key: `${e.card}:ips`, since_ms: [since(HOUR_MS)], member: e.ip_member });
  }
  if (ip_country !== null) {
    plan.add(['ip_country_count_for_card_daily'], { kind: 'distinct', key: `${e.card}:ip_countries`, since_ms: [since(DAY_MS)], member: ip_country });
  }
  if (e.email !== null && e.email_member !== null) {
    plan.add(['card_count_for_email_daily', 'card_count_for_email_weekly'], { kind: 'distinct', key: `${e.email}:cards`, since_ms: day_week, member: fp });
    plan.add(['email_count_for_card_daily', 'email_count_for_card_weekly'], {
      kind: 'distinct',
      key: `${e.card}:emails`,
      since_ms: day_week,
      member: e.email_member,
    });
    plan.add(['email_first_seen_ms'], { kind: 'score', key: `${e.email}:first`, member: 'f', since_ms: [since(FIRST_SEEN_TTL_MS)] });
  }
  plan.add(['card_first_seen_ms'], { kind: 'score', key: `${e.card}:first`, member: 'f', since_ms: [since(FIRST_SEEN_TTL_MS)] });
  plan.add(['card_authorized_on_merchant_ms'], { kind: 'score', key: `${e.merchant}:card:${fp}`, member: 'a', since_ms: [since(KNOWN_CARD_TTL_MS)] });
  if (e.customer !== null) {
    plan.add(['card_authorized_for_customer_ms'], { kind: 'score', key: `${e.customer}:cards`, member: fp, since_ms: [since(KNOWN_CARD_TTL_MS)] });
    if (e.email_member !== null) {
      plan.add(['email_authorized_for_customer_ms'], {
        kind: 'score',
        key: `${e.customer}:emails`,
        member: e.email_member,
        since_ms: [since(KNOWN_CARD_TTL_MS)],
      });
    }
  }
  plan.add(['small_charges_per_merchant_10min'], { kind: 'count', key: `${e.merchant}:small`, since_ms: [since(BURST_MS)] });
  plan.add(['declined_charges_per_merchant_10min'], { kind: 'count', key: `${e.merchant}:declined_burst`, since_ms: [since(BURST_MS)] });
  return plan;
}

/**
 * The windows an attempt's result goes into. `event_id` is unique per attempt: two attempts never
 * collapse into one member.
 */
export function planWrites(signals: RiskSignals, ip_country: string | null, result: AttemptResult, event_id: string): WindowWrite[] {
  const e = entitiesOf(signals);
  const writes: WindowWrite[] = [];
  const add = (key: string, member: string, ttl_ms: number, keep_first = false): void => {
    writes.push({ key, member, ttl_ms, keep_first });
  };
  for (const key of [e.card, e.email, e.ip, e.customer]) if (key !== null) add(`${key}:${result}`, event_id, WEEK_MS);
  const fp = signals.card_fingerprint;
  const small = signals.amount_in_usd < SMALL_CHARGE_USD_CENTS;
  if (e.ip !== null && e.ip_member !== null) {
    add(`${e.ip}:cards`, fp, DAY_MS);
    add(`${e.card}:ips`, e.ip_member, HOUR_MS);
    if (small) add(`${e.ip}:small`, event_id, HOUR_MS);
  }
  if (ip_country !== null) add(`${e.card}:ip_countries`, ip_country, DAY_MS);
  if (e.email !== null && e.email_member !== null) {
    add(`${e.email}:cards`, fp, WEEK_MS);
    add(`${e.card}:emails`, e.email_member, WEEK_MS);
    add(`${e.email}:first`, 'f', FIRST_SEEN_TTL_MS, true);
  }
  add(`${e.card}:first`, 'f', FIRST_SEEN_TTL_MS, true);
  if (small) add(`${e.merchant}:small`, event_id, BURST_MS);
  if (result !== 'authorized') add(`${e.merchant}:declined_burst`, event_id, BURST_MS);
  if (result === 'authorized') {
    add(`${e.merchant}:card:${fp}`, 'a', KNOWN_CARD_TTL_MS);
    if (e.customer !== null) {
      add(`${e.customer}:cards`, fp, KNOWN_CARD_TTL_MS);
      if (e.email_member !== null) add(`${e.customer}:emails`, e.email_member, KNOWN_CARD_TTL_MS);
    }
  }
  return writes;
}
