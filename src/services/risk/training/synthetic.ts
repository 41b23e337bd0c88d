import type { AttemptResult, RiskSignals } from '../domain/signals.js';
import { IpSampler } from './ip-sampler.js';
import { PATTERNS_PER_DAY, type LabelledAttempt, type PatternContext } from './patterns.js';
import { Random } from './random.js';
import { honestChecks, makeCustomer, makeMerchants, signalsOf, utcOffsetHours, type Customer, type Merchant } from './world.js';

/**
 * The synthetic data generator: `days` of card payments at `merchants` shops, honest shoppers
 * (repeat customers, new ones joining every day, travellers, big occasional baskets, the odd decline
 * for funds or a mistyped CVC) with fraud stories mixed in (patterns.ts: card testing, stolen cards
 * spent fast across addresses and countries, account takeover with a changed email, large orders at
 * night, and fraud that looks honest). Seeded: the same options give the same transactions.
 */
export interface GeneratorOptions {
  seed: number;
  days: number;
  merchants: number;
  payments_per_day: number;
  /** Unix ms of the first day's midnight UTC. */
  start_ms: number;
}

export interface SyntheticTransaction {
  signals: RiskSignals;
  /** When the attempt happens, ms (signals.created is its second). */
  created_ms: number;
  result: AttemptResult;
  fraud: boolean;
  pattern: string;
}

const DAY_MS = 24 * 3_600_000;
const HOUR_MS = 3_600_000;
/** Payments per honest customer over the simulation (sets the pool size). */
const PAYMENTS_PER_CUSTOMER = 6;
const PATTERN_SCALE_VOLUME = 2000;

/** Local shopping hours: quiet at night, busiest in the evening. */
const LOCAL_HOUR_WEIGHTS: ReadonlyArray<readonly [number, number]> = Array.from({ length: 24 }, (_, hour) => [
  hour,
  hour < 7 ? 0.4 : hour < 12 ? 3 : hour < 18 ? 4 : 5,
]);

export function generateTransactions(options: GeneratorOptions): SyntheticTransaction[] {
  const random = new Random(options.seed);
  const ips = new IpSampler();
  const merchants = makeMerchants(random, options.merchants);
  const pool_size = Math.max(50, Math.round((options.payments_per_day * options.days) / PAYMENTS_PER_CUSTOMER));
  const customers: Customer[] = [];
  const attempts: LabelledAttempt[] = [];
  for (let day = 0; day < options.days; day += 1) {
    // The pool grows through the run: new shoppers keep arriving with cards never seen before.
    const target = Math.round(pool_size * Math.min(1, 0.4 + (0.6 * (day + 1)) / options.days));
    while (customers.length < target) customers.push(makeCustomer(random, customers.length, merchants, ips));
    const day_start = options.start_ms + day * DAY_MS;
    for (let i = 0; i < options.payments_per_day; i += 1) attempts.push(...withRetries(random, honestPayment(random, random.pick(customers), day_start, ips)));
    const ctx: PatternContext = { random, ips, merchants, customers, start_ms: day_start };
    for (const [pattern, per_day] of PATTERNS_PER_DAY) {
      const expected = (per_day * options.payments_per_day) / PATTERN_SCALE_VOLUME;
      const stories = Math.floor(expected) + (random.chance(expected % 1) ? 1 : 0);
      for (let s = 0; s < stories; s += 1) attempts.push(...pattern({ ...ctx, start_ms: day_start + random.next() * DAY_MS }));
    }
  }
  return attempts
    .filter((a) => a.created_ms >= options.start_ms)
    .sort((a, b) => a.created_ms - b.created_ms)
    .map((a) => ({
      signals: signalsOf(a),
      created_ms: Math.floor(a.created_ms),
      result: a.declined ? 'declined' : 'authorized',
      fraud: a.fraud,
      pattern: a.pattern,
    }));
}

/**
 * An honest shopper whose card was declined tries again a minute or two later, once or twice, and
 * sometimes several times in a row on a busy checkout (double clicks, a subscription renewal retried).
 */
function withRetries(random: Random, payment: LabelledAttempt): LabelledAttempt[] {
  const attempts = [payment];
  const retries = payment.declined
    ? random.weighted([
        [0, 4],
        [1, 4],
        [2, 2],
        [4, 1],
      ] as const)
    : random.chance(0.01)
      ? 1 + random.int(3)
      : 0;
  for (let i = 1; i <= retries; i += 1) {
    const last = i === retries;
    attempts.push({
      ...payment,
      created_ms: payment.created_ms + i * random.between(30, 180) * 1000,
      declined: payment.declined && !(last && random.chance(0.6)),
    });
  }
  return attempts;
}

function honestPayment(random: Random, customer: Customer, day_start: number, ips: IpSampler): LabelledAttempt {
  const merchant: Merchant = random.pick(customer.merchants);
  const local_hour = random.weighted(LOCAL_HOUR_WEIGHTS) + random.next();
  const utc_hour = (((local_hour - utcOffsetHours(customer.country)) % 24) + 24) % 24;
  const big_basket = random.chance(0.03) ? random.between(3, 6) : 1;
  const where = random.weighted([
    ['home', 76],
    ['mobile', 20],
    ['abroad', 4],
  ] as const);
  let ip_address: string | null;
  if (where === 'home' && customer.ips.length > 0) ip_address = random.pick(customer.ips);
  else if (where === 'mobile') ip_address = ips.shared(customer.country, random);
  else ip_address = ips.sample(where === 'abroad' ? random.pick(['US', 'GB', 'FR', 'ES', 'IT', 'JP', 'MX']) : customer.country, random);
  const checks = honestChecks(random);
  const declined = checks.cvc_check === 'fail' ? random.chance(0.8) : random.chance(0.04);
  return {
    merchant,
    created_ms: day_start + utc_hour * HOUR_MS,
    amount: random.logNormal(merchant.median_amount, 0.6) * big_basket,
    card: random.pick(customer.cards),
    ip_address,
    email: random.chance(0.97) ? customer.email : null,
    customer_id: customer.accounts.get(merchant.id) ?? null,
    checks,
    fraud: false,
    pattern: 'honest',
    declined,
  };
}
