import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer as createHttpServer } from 'node:http';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Redis } from 'ioredis';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/kernel/clock.js';
import { PayrailError } from '../../src/kernel/errors.js';
import type { Pool } from '../../src/platform/db.js';
import type { DayCache } from '../../src/services/fx/index.js';
import {
  EcbRates,
  LocalDayCache,
  RateConflictError,
  RatesSourceError,
  RedisDayCache,
  SAMPLE_RATES_FILE,
  TieredDayCache,
  crossRate,
  loadRates,
  ratesSource,
  startFx,
} from '../../src/services/fx/index.js';
import { createMigratedPool } from '../support/database.js';

/**
 * The rates store, its cache (in the process, and in Redis) and its staleness limit, against a real
 * PostgreSQL and Redis; the start-up load and `payrail fx load`.
 */

const run = promisify(execFile);
const at = (iso: string) => Date.parse(iso) / 1000;
const FIVE_DAYS = 5 * 86_400;
const REDIS_URL = process.env.REDIS_URL;
const PREFIX = `payrail-test-fx-${process.pid}-${Date.now()}:`;
const SAMPLE = readFileSync(SAMPLE_RATES_FILE, 'utf8');
/** The sample's newest day, Tuesday 2026-12-01: USD and JPY per euro. */
const USD_JPY = crossRate('1.1589', '181.07');

let pool: Pool;
let drop: () => Promise<void>;
let scratch: string;
beforeAll(async () => {
  ({ pool, drop } = await createMigratedPool(4));
  scratch = mkdtempSync(join(tmpdir(), 'payrail-fx-'));
  await loadRates({ pool, clock: new ManualClock(at('2026-12-02T00:00:00Z') * 1000) }, ratesSource(SAMPLE_RATES_FILE));
});
afterAll(async () => {
  await drop();
  rmSync(scratch, { recursive: true, force: true });
});

function rates(cache: DayCache = new LocalDayCache(), db: Pool = pool): EcbRates {
  return new EcbRates({ db, cache, max_age_s: FIVE_DAYS });
}

async function refusal(promise: Promise<unknown>): Promise<PayrailError> {
  const error = await promise.then(
    () => undefined,
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(PayrailError);
  return error as PayrailError;
}

/** A pool that fails every query: what answers must have come from a cache. */
const NO_DATABASE = { query: () => Promise.reject(new Error('the database was asked')) } as unknown as Pool;

describe('the rates store', () => {
  it('holds the sample whole, and loading it again changes nothing', async () => {
    const count = async () => (await pool.query<{ n: number }>('SELECT count(*)::int AS n FROM fx.rates')).rows[0]!.n;
    expect(await count()).toBe(6 * 29);
    const again = await loadRates({ pool, clock: new ManualClock(Date.now()) }, ratesSource(SAMPLE_RATES_FILE));
    expect(again).toMatchObject({ days: 6, inserted: 0, latest: '2026-12-01' });
    expect(await count()).toBe(6 * 29);
  });

  it('refuses a file that changes a published rate, storing none of its new days', async () => {
    const changed = SAMPLE.replace('rate="1.1589"', 'rate="1.2000"').replace(
      '<Cube time="2026-12-01">',
      '<Cube time="2026-12-02"><Cube currency="USD" rate="1.16"/></Cube><Cube time="2026-12-01">',
    );
    const path = join(scratch, 'changed.xml');
    writeFileSync(path, changed);
    await expect(loadRates({ pool, clock: new ManualClock(Date.now()) }, ratesSource(path))).rejects.toThrow(RateConflictError);
    const { rows } = await pool.query("SELECT 1 FROM fx.rates WHERE date = '2026-12-02'");
    expect(rows).toEqual([]);
  });
});

describe('quotes', () => {
  it('use the newest day published by the time asked, with its id and publication time', async () => {
    expect(await rates().quote('usd', 'jpy', at('2026-12-01T16:00:00Z'))).toEqual({
      id: 'fxr_ecb_2026-12-01_usd_jpy',
      from: 'usd',
      to: 'jpy',
      rate: USD_JPY,
      published_at: at('2026-12-01T15:00:00Z'),
    });
    // Before 15:00 UTC the day's rates are not out: Monday's answer.
    expect((await rates().quote('usd', 'jpy', at('2026-12-01T14:00:00Z'))).id).toBe('fxr_ecb_2026-11-30_usd_jpy');
    // Over the weekend: Friday's.
    expect((await rates().quote('eur', 'gbp', at('2026-11-29T12:00:00Z'))).id).toBe('fxr_ecb_2026-11-27_eur_gbp');
  });

  it('refuse a rate older than the maximum age, naming the pair (503 rate_unavailable)', async () => {
    expect((await rates().quote('usd', 'jpy', at('2026-12-06T15:00:00Z'))).id).toBe('fxr_ecb_2026-12-01_usd_jpy');
    const stale = await refusal(rates().quote('usd', 'jpy', at('2026-12-06T15:00:01Z')));
    expect(stale.code).toBe('rate_unavailable');
    expect(stale.status).toBe(503);
    expect(stale.message).toContain('USD to JPY');
    // Before any loaded day, and for a currency the ECB does not quote.
    expect((await refusal(rates().quote('usd', 'jpy', at('2026-11-24T14:00:00Z')))).code).toBe('rate_unavailable');
    expect((await refusal(rates().quote('usd', 'kwd', at('2026-12-01T16:00:00Z')))).message).toContain('USD to KWD');
    expect((await refusal(rates().quote('usd', 'xyz', at('2026-12-01T16:00:00Z')))).code).toBe('currency_invalid');
  });

  it('come from the process cache once a day is read', async () => {
    const cache = new LocalDayCache();
    await rates(cache).quote('usd', 'jpy', at('2026-12-01T16:00:00Z'));
    expect((await rates(cache, NO_DATABASE).quote('chf', 'sek', at('2026-12-01T17:00:00Z'))).id).toBe('fxr_ecb_2026-12-01_chf_sek');
  });
});

describe.runIf(REDIS_URL)('the Redis cache', () => {
  let redis: Redis;
  const errors: Error[] = [];
  const shared = async () => {
    const redis_tier = new RedisDayCache(REDIS_URL!, PREFIX, (error) => errors.push(error));
    await redis_tier.ready();
    return new TieredDayCache(new LocalDayCache(), redis_tier, 60);
  };
  beforeAll(() => {
    redis = new Redis(REDIS_URL!, { keyPrefix: PREFIX });
  });
  afterAll(async () => {
    const keys = await redis.keys(`${PREFIX}*`);
    if (keys.length > 0) await redis.del(...keys.map((key) => key.slice(PREFIX.length)));
    redis.disconnect();
  });

  it('is shared: a process that never read a day answers from Redis, not the database', async () => {
    const first = await shared();
    await rates(first).quote('usd', 'jpy', at('2026-11-26T16:00:00Z'));
    const cached = JSON.parse((await redis.get('fx:ecb:2026-11-26'))!) as Record<string, string>;
    expect([cached.usd, cached.jpy]).toEqual([expect.stringMatching(/^\d+\.\d+$/), expect.stringMatching(/^\d+\.\d+$/)]);
    expect(await redis.ttl('fx:ecb:2026-11-26')).toBeGreaterThan(0);
    const second = await shared();
    expect((await rates(second, NO_DATABASE).quote('usd', 'jpy', at('2026-11-26T16:00:00Z'))).id).toBe('fxr_ecb_2026-11-26_usd_jpy');
    await Promise.all([first.close(), second.close()]);
    expect(errors).toEqual([]);
  });

  it('forgets a day found empty when that day is loaded', async () => {
    const cache = await shared();
    // Wednesday 2026-12-02 is not loaded yet: Tuesday answers, and the empty day is cached.
    expect((await rates(cache).quote('eur', 'usd', at('2026-12-02T16:00:00Z'))).id).toBe('fxr_ecb_2026-12-01_eur_usd');
    expect(await redis.get('fx:ecb:2026-12-02')).toBe('absent');
    const path = join(scratch, 'wednesday.xml');
    writeFileSync(
      path,
      SAMPLE.replace('<Cube time="2026-12-01">', '<Cube time="2026-12-02"><Cube currency="USD" rate="1.1601"/></Cube><Cube time="2026-12-01">'),
    );
    await loadRates({ pool, clock: new ManualClock(Date.now()), cache }, ratesSource(path));
    expect(await rates(cache).quote('eur', 'usd', at('2026-12-02T16:00:00Z'))).toMatchObject({ id: 'fxr_ecb_2026-12-02_eur_usd', rate: '1.1601' });
    await cache.close();
  });
});

describe('without Redis', () => {
  it('answers from the process and the database when Redis is unreachable', async () => {
    const closed = await closedPort();
    const errors: Error[] = [];
    const cache = new TieredDayCache(new LocalDayCache(), new RedisDayCache(`redis://127.0.0.1:${closed}`, PREFIX, (error) => errors.push(error)), 60);
    const started = Date.now();
    expect((await rates(cache).quote('usd', 'jpy', at('2026-12-01T16:00:00Z'))).rate).toBe(USD_JPY);
    expect((await rates(cache).quote('gbp', 'jpy', at('2026-12-01T16:00:00Z'))).id).toBe('fxr_ecb_2026-12-01_gbp_jpy');
    expect(Date.now() - started).toBeLessThan(2_000);
    expect(errors.length).toBeGreaterThan(0);
    await cache.close();
  });
});

describe('start-up', () => {
  const logger = pino({ level: 'silent' });
  const settings = { fx_rate_max_age_s: FIVE_DAYS, fx_rates_url: undefined, redis_url: undefined, redis_prefix: PREFIX };

  it('in test mode loads the sample into an empty store, its newest day the newest published', async () => {
    const fresh = await createMigratedPool(2);
    try {
      const clock = new ManualClock(at('2027-03-10T10:00:00Z') * 1000);
      const fx = await startFx({ settings: { ...settings, mode: 'test' }, pool: fresh.pool, clock, logger });
      // 10:00 UTC: the 10th's rates are not out yet, so the sample ends on the 9th.
      expect((await fx.rates.quote('eur', 'usd', at('2027-03-10T10:00:00Z'))).id).toBe('fxr_ecb_2027-03-09_eur_usd');
      const { rows } = await fresh.pool.query<{ n: number }>('SELECT count(*)::int AS n FROM fx.rates');
      expect(rows[0]!.n).toBe(6 * 29);
      // A restart with fresh rates stored loads nothing more.
      await startFx({ settings: { ...settings, mode: 'test' }, pool: fresh.pool, clock, logger });
      expect((await fresh.pool.query<{ n: number }>('SELECT count(*)::int AS n FROM fx.rates')).rows[0]!.n).toBe(6 * 29);
    } finally {
      await fresh.drop();
    }
  });

  it('with a rates URL loads that file (in live mode too), and refresh loads it again harmlessly', async () => {
    const fresh = await createMigratedPool(2);
    try {
      const clock = new ManualClock(Date.now());
      const fx = await startFx({ settings: { ...settings, mode: 'live', fx_rates_url: SAMPLE_RATES_FILE }, pool: fresh.pool, clock, logger });
      expect((await fx.rates.quote('eur', 'usd', at('2026-12-01T16:00:00Z'))).rate).toBe('1.1589');
      await fx.refresh();
      expect((await fresh.pool.query<{ n: number }>('SELECT count(*)::int AS n FROM fx.rates')).rows[0]!.n).toBe(6 * 29);
    } finally {
      await fresh.drop();
    }
  });

  it('in live mode loads no sample: quotes refuse until real rates are loaded', async () => {
    const fresh = await createMigratedPool(2);
    try {
      const fx = await startFx({ settings: { ...settings, mode: 'live' }, pool: fresh.pool, clock: new ManualClock(Date.now()), logger });
      expect((await refusal(fx.rates.quote('eur', 'usd', Math.floor(Date.now() / 1000)))).code).toBe('rate_unavailable');
    } finally {
      await fresh.drop();
    }
  });
});

describe('a rates URL', () => {
  it('is fetched whole; an HTTP error or a server that stalls past the timeout fails with a clear message', async () => {
    const server = createHttpServer((request, response) => {
      if (request.url === '/daily.xml') response.end(SAMPLE);
      else if (request.url === '/stall.xml')
        response.write('<?xml version="1.0"?>'); // and never ends
      else response.writeHead(404).end();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
    try {
      expect(await ratesSource(`${base}/daily.xml`).read()).toBe(SAMPLE);
      await expect(ratesSource(`${base}/missing.xml`).read()).rejects.toThrow(new RatesSourceError(`fetching ${base}/missing.xml answered HTTP 404`));
      const stalled = ratesSource(`${base}/stall.xml`, 300).read();
      await expect(stalled).rejects.toThrow(RatesSourceError);
      await expect(stalled).rejects.toThrow(/fetching .*stall\.xml failed/);
    } finally {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  });
});

describe('payrail fx load', () => {
  const cli = async (database_url: string, args: string[]) => {
    try {
      const { stdout, stderr } = await run(process.execPath, ['dist/cli.js', 'fx', 'load', ...args], {
        env: { ...process.env, DATABASE_URL: database_url, REDIS_URL: '', LOG_LEVEL: 'warn' },
        timeout: 60_000,
      });
      return { code: 0, stdout, stderr };
    } catch (error) {
      const failed = error as { code?: number; stdout?: string; stderr?: string };
      return { code: failed.code ?? -1, stdout: failed.stdout ?? '', stderr: failed.stderr ?? '' };
    }
  };

  // Each run of the CLI opens and migrates the database (about 15 s on a busy machine).
  it('loads the sample, and refuses a malformed file whole', { timeout: 120_000 }, async () => {
    const fresh = await createMigratedPool(2);
    try {
      const loaded = await cli(fresh.url, [SAMPLE_RATES_FILE]);
      expect(loaded).toMatchObject({ code: 0, stdout: 'fx load: 6 days (newest 2026-12-01), 174 rates stored\n' });
      const broken = join(scratch, 'broken.xml');
      writeFileSync(
        broken,
        SAMPLE.replace('<Cube time="2026-12-01">', '<Cube time="2026-12-02"><Cube currency="USD" rate="1,16"/></Cube><Cube time="2026-12-01">'),
      );
      const refused = await cli(fresh.url, [broken]);
      expect(refused.code).toBe(1);
      expect(refused.stderr).toContain('refused, nothing stored: day 2026-12-02: USD has no valid rate');
      expect((await fresh.pool.query<{ n: number }>('SELECT count(*)::int AS n FROM fx.rates')).rows[0]!.n).toBe(174);
    } finally {
      await fresh.drop();
    }
  });
});

async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}
