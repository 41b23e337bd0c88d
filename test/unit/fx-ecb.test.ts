import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { EcbFormatError, SAMPLE_RATES_FILE, parseEcbRates } from '../../src/services/fx/index.js';
import { candidateDays, publishedAt, quoteOnDay } from '../../src/services/fx/domain/quote.js';
import { redated } from '../../src/services/fx/domain/ecb.js';

/** The ECB reference-rates XML: read whole or refused whole; and which day answers a quote. */

/** As the ECB writes eurofxref-daily.xml: single-quoted attributes, namespaces, a sender block. */
function ecbFile(days: string): string {
  return `<?xml version="1.0" encoding="UTF-8"?>
<gesmes:Envelope xmlns:gesmes="http://www.gesmes.org/xml/2002-08-01" xmlns="http://www.ecb.int/vocabulary/2002-08-01/eurofxref">
\t<gesmes:subject>Reference rates</gesmes:subject>
\t<gesmes:Sender>
\t\t<gesmes:name>European Central Bank</gesmes:name>
\t</gesmes:Sender>
\t<Cube>${days}</Cube>
</gesmes:Envelope>`;
}

const GOOD_DAY = `<Cube time='2026-11-30'><Cube currency='USD' rate='1.1589'/><Cube currency='JPY' rate='181.07'/></Cube>`;

describe('parseEcbRates', () => {
  it('reads the daily file as the ECB writes it', () => {
    const [day, ...rest] = parseEcbRates(ecbFile(GOOD_DAY));
    expect(rest).toEqual([]);
    expect(day!.date).toBe('2026-11-30');
    expect([...day!.rates]).toEqual([
      ['usd', '1.1589'],
      ['jpy', '181.07'],
    ]);
  });

  it('reads the shipped sample, oldest day first, rates as the exact strings written', () => {
    const days = parseEcbRates(readFileSync(SAMPLE_RATES_FILE, 'utf8'));
    expect(days.map((day) => day.date)).toEqual(['2026-11-24', '2026-11-25', '2026-11-26', '2026-11-27', '2026-11-30', '2026-12-01']);
    expect(days.at(-1)!.rates.get('usd')).toBe('1.1589');
    expect(days.at(-1)!.rates.get('isk')).toBe('147.80');
    for (const day of days) expect(day.rates.size).toBe(29);
  });

  const refused: Array<[string, string, RegExp]> = [
    ['not XML', 'rates: 1.1', /not well-formed/],
    ['a truncated file', ecbFile(GOOD_DAY).slice(0, 300), /not well-formed/],
    ['another root', '<rates><Cube/></rates>', /Envelope/],
    ['no outer Cube', '<gesmes:Envelope xmlns:gesmes="x"></gesmes:Envelope>', /exactly one Cube/],
    ['two outer Cubes', `<gesmes:Envelope xmlns:gesmes="x"><Cube>${GOOD_DAY}</Cube><Cube/></gesmes:Envelope>`, /exactly one Cube/],
    ['no day', ecbFile(''), /no day/],
    ['a day without time', ecbFile(`<Cube><Cube currency='USD' rate='1.1'/></Cube>`), /time/],
    ['an impossible date', ecbFile(`<Cube time='2026-02-30'><Cube currency='USD' rate='1.1'/></Cube>`), /2026-02-30/],
    ['a day twice', ecbFile(GOOD_DAY + GOOD_DAY), /appears twice/],
    ['a currency twice', ecbFile(`<Cube time='2026-11-30'><Cube currency='USD' rate='1.1'/><Cube currency='USD' rate='1.2'/></Cube>`), /USD appears twice/],
    ['a lowercase code', ecbFile(`<Cube time='2026-11-30'><Cube currency='usd' rate='1.1'/></Cube>`), /currency/],
    ['a rate for EUR', ecbFile(`<Cube time='2026-11-30'><Cube currency='EUR' rate='1'/></Cube>`), /EUR/],
    ['an exponent rate', ecbFile(`<Cube time='2026-11-30'><Cube currency='USD' rate='1.1e0'/></Cube>`), /USD has no valid rate/],
    ['a negative rate', ecbFile(`<Cube time='2026-11-30'><Cube currency='USD' rate='-1.1'/></Cube>`), /USD has no valid rate/],
    ['a zero rate', ecbFile(`<Cube time='2026-11-30'><Cube currency='USD' rate='0.0000'/></Cube>`), /USD has no valid rate/],
    ['a comma rate', ecbFile(`<Cube time='2026-11-30'><Cube currency='USD' rate='1,1'/></Cube>`), /USD has no valid rate/],
    ['a rate without value', ecbFile(`<Cube time='2026-11-30'><Cube currency='USD'/></Cube>`), /USD has no valid rate/],
    ['a day without rates', ecbFile(`<Cube time='2026-11-30'></Cube>`), /no rates/],
    ['an element other than Cube', ecbFile(`<Cube time='2026-11-30'><Rate currency='USD' rate='1.1'/></Cube>`), /unexpected content: Rate/],
    ['text in a day', ecbFile(`<Cube time='2026-11-30'>1.1<Cube currency='USD' rate='1.1'/></Cube>`), /unexpected content/],
  ];
  it.each(refused)('refuses %s', (_name, xml, message) => {
    expect(() => parseEcbRates(xml)).toThrow(EcbFormatError);
    expect(() => parseEcbRates(xml)).toThrow(message);
  });

  it('refuses a whole file for one bad rate among good days: never a partial load', () => {
    const bad = `<Cube time='2026-12-01'><Cube currency='USD' rate='1.16'/><Cube currency='GBP' rate='n/a'/></Cube>`;
    expect(() => parseEcbRates(ecbFile(GOOD_DAY + bad))).toThrow(/2026-12-01: GBP has no valid rate/);
  });

  it('moves the sample to a new newest day, keeping its gaps', () => {
    const days = parseEcbRates(readFileSync(SAMPLE_RATES_FILE, 'utf8'));
    const moved = redated(days, '2027-03-10');
    expect(moved.map((day) => day.date)).toEqual(['2027-03-03', '2027-03-04', '2027-03-05', '2027-03-06', '2027-03-09', '2027-03-10']);
    expect(moved.at(-1)!.rates).toBe(days.at(-1)!.rates);
  });
});

describe('which ECB day answers', () => {
  const at = (iso: string) => Date.parse(iso) / 1000;
  const FIVE_DAYS = 5 * 86_400;

  it('uses a day only from its publication, 15:00 UTC', () => {
    expect(publishedAt('2026-12-01')).toBe(at('2026-12-01T15:00:00Z'));
    expect(candidateDays(at('2026-12-01T14:59:59Z'), FIVE_DAYS)[0]).toBe('2026-11-30');
    expect(candidateDays(at('2026-12-01T15:00:00Z'), FIVE_DAYS)[0]).toBe('2026-12-01');
  });

  it('reaches back exactly the maximum age', () => {
    const now = at('2026-12-06T15:00:00Z');
    expect(candidateDays(now, FIVE_DAYS)).toEqual(['2026-12-06', '2026-12-05', '2026-12-04', '2026-12-03', '2026-12-02', '2026-12-01']);
    expect(candidateDays(now + 1, FIVE_DAYS).at(-1)).toBe('2026-12-02');
    expect(candidateDays(now, 3600)).toEqual(['2026-12-06']);
  });

  it('quotes a pair through the euro, with an id naming the day and the pair', () => {
    const rates = new Map([
      ['usd', '1.1589'],
      ['jpy', '181.07'],
    ]);
    expect(quoteOnDay('2026-11-30', rates, 'eur', 'usd')).toEqual({
      id: 'fxr_ecb_2026-11-30_eur_usd',
      from: 'eur',
      to: 'usd',
      rate: '1.1589',
      published_at: at('2026-11-30T15:00:00Z'),
    });
    expect(quoteOnDay('2026-11-30', rates, 'usd', 'jpy')?.rate).toBe('156.242989041');
    expect(quoteOnDay('2026-11-30', rates, 'usd', 'gbp')).toBeUndefined();
  });
});
