import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { ManualClock } from '../../src/kernel/clock.js';
import { ID_BODY_LENGTH, UlidGenerator, isIdOf } from '../../src/kernel/ids.js';
import { randomBytesPooled } from '../../src/kernel/random.js';
import { MAX_AMOUNT, currencyInfo, isValidAmount } from '../../src/kernel/money.js';
import { combineWrites, numbered, sql } from '../../src/platform/db.js';
import { requestHash } from '../../src/platform/write/idempotency.js';

describe('ids', () => {
  it('are prefixed, well-formed and strictly increasing, within one millisecond and across', () => {
    const clock = new ManualClock(1_700_000_000_000);
    const ids = new UlidGenerator(clock);
    const seen: string[] = [];
    for (let i = 0; i < 2000; i++) {
      if (i % 500 === 0) clock.advance(1);
      seen.push(ids.next('payment_intent'));
    }
    for (const id of seen) expect(isIdOf('payment_intent', id)).toBe(true);
    expect(seen[0]?.length).toBe('pi_'.length + ID_BODY_LENGTH);
    const sorted = [...seen].sort();
    expect(sorted).toEqual(seen);
    expect(new Set(seen).size).toBe(seen.length);
  });

  it('sort by creation time even when the clock steps back', () => {
    const clock = new ManualClock(1_700_000_000_500);
    const ids = new UlidGenerator(clock);
    const first = ids.next('charge');
    clock.advance(-400);
    expect(ids.next('charge') > first).toBe(true);
  });

  it('rejects foreign prefixes and malformed bodies', () => {
    const id = new UlidGenerator().next('charge');
    expect(isIdOf('payment_intent', id)).toBe(false);
    expect(isIdOf('charge', `${id}x`)).toBe(false);
  });
});

describe('pooled randomness', () => {
  it('hands out each byte once, across refills of its block, and never changes a draw it returned', () => {
    const draws = Array.from({ length: 600 }, () => randomBytesPooled(16)); // 9,600 bytes: two refills
    const copies = draws.map((draw) => Buffer.from(draw).toString('hex'));
    randomBytesPooled(4096);
    expect(draws.map((draw) => draw.toString('hex'))).toEqual(copies);
    expect(new Set(copies).size).toBe(600);
    expect(draws.every((draw) => draw.length === 16)).toBe(true);
    // Every byte value turns up: 9,600 uniform bytes miss one of 256 with probability ~ 256 · e^-37.
    expect(new Set(draws.flatMap((draw) => [...draw])).size).toBe(256);
    expect(() => randomBytesPooled(4097)).toThrow();
  });
});

describe('money', () => {
  it('knows exponents and minimums per currency', () => {
    expect(currencyInfo('jpy')?.exponent).toBe(0);
    expect(currencyInfo('usd')?.exponent).toBe(2);
    expect(currencyInfo('kwd')?.exponent).toBe(3);
    expect(currencyInfo('gbp')?.min_charge_amount).toBe(30);
    expect(currencyInfo('xyz')).toBeUndefined();
  });

  it('accepts only integer amounts within Stripe’s cap', () => {
    fc.assert(
      fc.property(fc.double(), (value) => {
        expect(isValidAmount(value)).toBe(Number.isSafeInteger(value) && value >= 0 && value <= MAX_AMOUNT);
      }),
    );
    expect(isValidAmount(12.5)).toBe(false);
    expect(isValidAmount(MAX_AMOUNT + 1)).toBe(false);
  });
});

describe('sql fragments', () => {
  it('number placeholders across combined writes and keep values in order', () => {
    const combined = combineWrites([sql`INSERT INTO a VALUES (${1}, ${'x'})`, sql`UPDATE b SET c = ${2} WHERE d = ${'y'}`]);
    const text = numbered(combined);
    expect(text).toContain('INSERT INTO a VALUES ($1, $2) RETURNING 1');
    expect(text).toContain('UPDATE b SET c = $3 WHERE d = $4 RETURNING 1');
    expect(text).toContain('payrail_guard(EXISTS (SELECT 1 FROM w0) AND EXISTS (SELECT 1 FROM w1))');
    expect(combined.values).toEqual([1, 'x', 2, 'y']);
  });

  it('give every call of one shape the same text, each with its own values', () => {
    const write = (id: number, status: string) => combineWrites([sql`UPDATE t SET status = ${status} WHERE id = ${id}`, sql`INSERT INTO u VALUES (${id})`]);
    const first = write(1, 'open');
    const second = write(2, 'paid');
    expect(second.text).toBe(first.text);
    expect(numbered(second)).toBe(numbered(first));
    expect([first.values, second.values]).toEqual([
      ['open', 1, 1],
      ['paid', 2, 2],
    ]);
    // Another shape built from the same parts in another order is its own text.
    const swapped = combineWrites([sql`INSERT INTO u VALUES (${3})`, sql`UPDATE t SET status = ${'x'} WHERE id = ${3}`]);
    expect(numbered(swapped)).toMatch(/^WITH w0 AS \(INSERT INTO u VALUES \(\$1\)/);
    expect(numbered({ text: first.text, values: [] }, 3)).toContain('status = $3 WHERE id = $4');
  });
});

describe('idempotency request hash', () => {
  const key = Buffer.alloc(32, 7);
  it('ignores key order but not values, paths, methods or the secret', () => {
    const a = requestHash(key, 'POST', '/v1/x', { amount: '1', metadata: { a: '1', b: '2' } });
    expect(requestHash(key, 'POST', '/v1/x', { metadata: { b: '2', a: '1' }, amount: '1' })).toBe(a);
    expect(requestHash(key, 'POST', '/v1/x', { amount: '2', metadata: { a: '1', b: '2' } })).not.toBe(a);
    expect(requestHash(key, 'POST', '/v1/y', { amount: '1', metadata: { a: '1', b: '2' } })).not.toBe(a);
    expect(requestHash(Buffer.alloc(32, 8), 'POST', '/v1/x', { amount: '1', metadata: { a: '1', b: '2' } })).not.toBe(a);
  });
});
