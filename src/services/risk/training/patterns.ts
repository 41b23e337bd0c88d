import type { CheckResult } from '../domain/signals.js';
import type { IpSampler } from './ip-sampler.js';
import type { Random } from './random.js';
import { FRAUD_IP_COUNTRIES, HOME_COUNTRIES, makeCard, type Attempt, type Customer, type Merchant } from './world.js';

/**
 * The fraud the synthetic data holds, each a story told as a burst of attempts. Every attempt of a
 * story is labelled fraud; `declined` is the issuer's answer (the windows learn declines from it).
 */
export interface LabelledAttempt extends Attempt {
  fraud: boolean;
  pattern: string;
  declined: boolean;
}

export interface PatternContext {
  random: Random;
  ips: IpSampler;
  merchants: readonly Merchant[];
  customers: readonly Customer[];
  start_ms: number;
}

const MINUTE_MS = 60_000;
const HOUR_MS = 60 * MINUTE_MS;

function fraudIp({ random, ips }: PatternContext, avoid?: string): string | null {
  const country = random.weighted(FRAUD_IP_COUNTRIES.filter(([code]) => code !== avoid));
  return ips.sample(country, random);
}

function throwawayEmail(random: Random): string {
  return `${random.hex(10)}@${random.pick(['tempmail.example', 'quickbox.example', 'mail.example'])}`;
}

function fraudCvc(random: Random, p_pass: number): CheckResult {
  return random.chance(p_pass)
    ? 'pass'
    : random.weighted<CheckResult>([
        ['unavailable', 5],
        ['unchecked', 3],
        ['fail', 4],
      ]);
}

/** Card testing: one shop, a few addresses, dozens of fresh cards at a dollar or two in minutes; most declined. */
export function cardTesting(ctx: PatternContext): LabelledAttempt[] {
  const { random } = ctx;
  const merchant = random.pick(ctx.merchants);
  const addresses = Array.from({ length: 1 + random.int(3) }, () => fraudIp(ctx));
  const span_ms = random.between(2, 15) * MINUTE_MS;
  const email = random.chance(0.5) ? null : throwawayEmail(random);
  return Array.from({ length: 15 + random.int(50) }, () => ({
    merchant,
    created_ms: ctx.start_ms + random.next() * span_ms,
    amount: Math.round(random.between(50, 300) / merchant.usd_per_unit),
    card: makeCard(random, random.weighted(HOME_COUNTRIES)),
    ip_address: random.pick(addresses),
    email,
    customer_id: null,
    checks: { cvc_check: fraudCvc(random, 0.3), address_line1_check: null, address_postal_code_check: random.chance(0.7) ? null : 'fail' },
    fraud: true,
    pattern: 'card_testing',
    declined: random.chance(0.85),
  }));
}

/** A stolen card spent fast: several shops within the hour, from addresses abroad, new emails, big baskets. */
export function stolenCardSpree(ctx: PatternContext): LabelledAttempt[] {
  const { random } = ctx;
  const victim = random.pick(ctx.customers);
  const card = random.chance(0.6) ? random.pick(victim.cards) : makeCard(random, random.weighted(HOME_COUNTRIES));
  const one_email = random.chance(0.4) ? throwawayEmail(random) : null;
  let at = ctx.start_ms;
  return Array.from({ length: 2 + random.int(5) }, () => {
    at += random.between(2, 25) * MINUTE_MS;
    const merchant = random.pick(ctx.merchants);
    return {
      merchant,
      created_ms: at,
      amount: merchant.median_amount * random.between(1.5, 5),
      card,
      ip_address: random.chance(0.75) ? fraudIp(ctx, card.country) : ctx.ips.sample(card.country, random),
      email: one_email ?? (random.chance(0.85) ? throwawayEmail(random) : null),
      customer_id: null,
      checks: {
        cvc_check: fraudCvc(random, 0.6),
        address_line1_check: random.chance(0.4) ? 'fail' : 'unavailable',
        address_postal_code_check: random.chance(0.4) ? 'fail' : 'pass',
      },
      fraud: true,
      pattern: 'stolen_card_spree',
      declined: random.chance(0.15),
    };
  });
}

/** Account takeover: a real customer's account, a changed email, an address abroad, an unusually large order. */
export function accountTakeover(ctx: PatternContext): LabelledAttempt[] {
  const { random } = ctx;
  const victim = ctx.customers.find((customer, i) => i >= random.int(ctx.customers.length) && customer.accounts.size > 0);
  if (victim === undefined) return [];
  const [merchant_id, customer_id] = [...victim.accounts.entries()][0] ?? ['', ''];
  const merchant = ctx.merchants.find((m) => m.id === merchant_id) ?? random.pick(ctx.merchants);
  const card = random.chance(0.5) ? random.pick(victim.cards) : makeCard(random, random.weighted(HOME_COUNTRIES));
  const night_start = ctx.start_ms - (ctx.start_ms % (24 * HOUR_MS)) + random.between(0, 5) * HOUR_MS;
  return Array.from({ length: 1 + random.int(2) }, (_, i) => ({
    merchant,
    created_ms: (random.chance(0.6) ? night_start : ctx.start_ms) + i * random.between(1, 20) * MINUTE_MS,
    amount: merchant.median_amount * random.between(3, 8),
    card,
    ip_address: fraudIp(ctx, victim.country),
    email: throwawayEmail(random),
    customer_id,
    checks: { cvc_check: fraudCvc(random, 0.7), address_line1_check: 'pass', address_postal_code_check: 'pass' },
    fraud: true,
    pattern: 'account_takeover',
    declined: random.chance(0.1),
  }));
}

/** A fresh stolen card with full details, one large order in the small hours. */
export function nightHighAmount(ctx: PatternContext): LabelledAttempt[] {
  const { random } = ctx;
  const merchant = random.pick(ctx.merchants);
  const card = makeCard(random, random.weighted(HOME_COUNTRIES));
  const day_start = ctx.start_ms - (ctx.start_ms % (24 * HOUR_MS));
  return [
    {
      merchant,
      created_ms: day_start + random.between(0, 5.9) * HOUR_MS,
      amount: merchant.median_amount * random.between(4, 10),
      card,
      ip_address: random.chance(0.5) ? ctx.ips.sample(card.country, random) : fraudIp(ctx, card.country),
      email: throwawayEmail(random),
      customer_id: null,
      checks: { cvc_check: 'pass', address_line1_check: random.chance(0.5) ? 'pass' : 'unavailable', address_postal_code_check: 'pass' },
      fraud: true,
      pattern: 'night_high_amount',
      declined: random.chance(0.1),
    },
  ];
}

/** Fraud that looks like anyone else (a cardholder disputing their own purchase): no model catches it. */
export function lookalike(ctx: PatternContext): LabelledAttempt[] {
  const { random } = ctx;
  const shopper = random.pick(ctx.customers);
  const merchant = random.pick(shopper.merchants);
  return [
    {
      merchant,
      created_ms: ctx.start_ms,
      amount: random.logNormal(merchant.median_amount, 0.6),
      card: random.pick(shopper.cards),
      ip_address: random.pick(shopper.ips),
      email: shopper.email,
      customer_id: shopper.accounts.get(merchant.id) ?? null,
      checks: { cvc_check: 'pass', address_line1_check: 'pass', address_postal_code_check: 'pass' },
      fraud: true,
      pattern: 'lookalike',
      declined: false,
    },
  ];
}

/** Card enumeration: one card tried again and again from one address within minutes (CVC and expiry guessed); mostly declined. */
export function cardEnumeration(ctx: PatternContext): LabelledAttempt[] {
  const { random } = ctx;
  const merchant = random.pick(ctx.merchants);
  const card = makeCard(random, random.weighted(HOME_COUNTRIES));
  const address = random.chance(0.5) ? fraudIp(ctx) : ctx.ips.sample(card.country, random);
  const email = random.chance(0.6) ? null : throwawayEmail(random);
  let at = ctx.start_ms;
  return Array.from({ length: 6 + random.int(20) }, () => {
    at += random.between(5, 60) * 1000;
    return {
      merchant,
      created_ms: at,
      amount: random.chance(0.5) ? merchant.median_amount * random.between(0.5, 1.5) : Math.round(random.between(100, 500) / merchant.usd_per_unit),
      card,
      ip_address: address,
      email,
      customer_id: null,
      checks: { cvc_check: fraudCvc(random, 0.15), address_line1_check: null, address_postal_code_check: random.chance(0.5) ? 'fail' : null },
      fraud: true,
      pattern: 'card_enumeration',
      declined: random.chance(0.9),
    };
  });
}

/** Stories per simulated day of 2,000 honest payments; scaled with the day's volume. */
export const PATTERNS_PER_DAY: ReadonlyArray<readonly [(ctx: PatternContext) => LabelledAttempt[], number]> = [
  [cardTesting, 0.8],
  [stolenCardSpree, 8],
  [accountTakeover, 5],
  [nightHighAmount, 5],
  [lookalike, 4],
  [cardEnumeration, 1.5],
];
