import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { isValidRate } from './convert.js';

/**
 * The ECB's euro foreign exchange reference rates, as it publishes them (eurofxref-daily.xml, the
 * 90-day and the historic files): `gesmes:Envelope > Cube > Cube time="YYYY-MM-DD" > Cube currency rate`,
 * each rate the units of `currency` one euro buys. A file is read whole or refused whole: one bad day,
 * rate or attribute and nothing of it is loaded.
 */

export interface EcbDay {
  /** The ECB's reference date (rates are set around 14:00 CET that day). */
  date: string;
  /** Lowercase ISO 4217 code → units per euro, as the exact decimal the file gives. */
  rates: ReadonlyMap<string, string>;
}

export class EcbFormatError extends Error {
  override name = 'EcbFormatError';
}

/** The historic file (every day since 1999) is a few megabytes; anything far larger is not a rates file. */
export const ECB_FILE_MAX_BYTES = 32 * 1024 * 1024;

const DATE = /^(\d{4})-(\d{2})-(\d{2})$/;
const CURRENCY = /^[A-Z]{3}$/;
/** What fx.rates holds: at most 18 digits either side of the point (the ECB publishes five or six significant digits). */
const ECB_RATE = /^\d{1,18}(\.\d{1,18})?$/;

type XmlNode = Record<string, unknown>;

const parser = new XMLParser({
  ignoreAttributes: false,
  attributeNamePrefix: '@',
  removeNSPrefix: true,
  // Values stay the strings the file has: a rate must never pass through a float.
  parseAttributeValue: false,
  parseTagValue: false,
  processEntities: false,
  isArray: (name) => name === 'Cube',
});

/** Every day of an ECB reference-rates file, oldest first. */
export function parseEcbRates(xml: string): EcbDay[] {
  if (Buffer.byteLength(xml) > ECB_FILE_MAX_BYTES) throw new EcbFormatError(`the file is larger than ${ECB_FILE_MAX_BYTES} bytes`);
  const valid = XMLValidator.validate(xml);
  if (valid !== true) throw new EcbFormatError(`not well-formed XML: ${valid.err.msg} (line ${valid.err.line})`);
  const document = parser.parse(xml) as XmlNode;
  const envelope = asNode(document.Envelope);
  if (!envelope) throw new EcbFormatError('no gesmes:Envelope root element');
  const outer = onlyCube(envelope.Cube, 'the envelope');
  const days = childCubes(outer, 'the outer Cube').map(parseDay);
  if (days.length === 0) throw new EcbFormatError('the file has no day of rates');
  days.sort((a, b) => (a.date < b.date ? -1 : 1));
  for (let i = 1; i < days.length; i += 1) {
    if (days[i]!.date === days[i - 1]!.date) throw new EcbFormatError(`day ${days[i]!.date} appears twice`);
  }
  return days;
}

function parseDay(cube: XmlNode): EcbDay {
  const date = cube['@time'];
  if (typeof date !== 'string' || !isCalendarDate(date)) throw new EcbFormatError(`a day Cube has no valid time attribute (got ${JSON.stringify(date)})`);
  const rates = new Map<string, string>();
  for (const entry of childCubes(cube, `day ${date}`)) {
    const currency = entry['@currency'];
    const rate = entry['@rate'];
    if (typeof currency !== 'string' || !CURRENCY.test(currency))
      throw new EcbFormatError(`day ${date}: a rate has no valid currency (got ${JSON.stringify(currency)})`);
    if (typeof rate !== 'string' || !ECB_RATE.test(rate) || !isValidRate(rate))
      throw new EcbFormatError(`day ${date}: ${currency} has no valid rate (got ${JSON.stringify(rate)})`);
    const code = currency.toLowerCase();
    if (code === 'eur') throw new EcbFormatError(`day ${date}: a rate for EUR against itself`);
    if (rates.has(code)) throw new EcbFormatError(`day ${date}: ${currency} appears twice`);
    rates.set(code, rate);
  }
  if (rates.size === 0) throw new EcbFormatError(`day ${date} has no rates`);
  return { date, rates };
}

function isNode(value: unknown): value is XmlNode {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** An element as the parser gives it: an object, or '' when it is empty (`<Cube></Cube>`). */
function asNode(value: unknown): XmlNode | undefined {
  if (value === '') return {};
  return isNode(value) ? value : undefined;
}

function onlyCube(value: unknown, where: string): XmlNode {
  const only = Array.isArray(value) && value.length === 1 ? asNode(value[0]) : undefined;
  if (!only) throw new EcbFormatError(`${where} must hold exactly one Cube element`);
  return only;
}

/** The Cube children of `cube`; an element holding anything else is refused. */
function childCubes(cube: XmlNode, where: string): XmlNode[] {
  const unexpected = Object.keys(cube).filter((key) => key !== 'Cube' && !key.startsWith('@'));
  if (unexpected.length > 0) throw new EcbFormatError(`${where} holds unexpected content: ${unexpected.join(', ')}`);
  const children = cube.Cube;
  if (children === undefined) return [];
  const nodes = Array.isArray(children) ? children.map(asNode) : [];
  if (!Array.isArray(children) || nodes.some((node) => node === undefined)) throw new EcbFormatError(`${where} holds a Cube that is not an element`);
  return nodes as XmlNode[];
}

function isCalendarDate(text: string): boolean {
  const match = DATE.exec(text);
  if (!match) return false;
  const [year, month, day] = [Number(match[1]), Number(match[2]), Number(match[3])];
  const date = new Date(Date.UTC(year, month - 1, day));
  return date.getUTCFullYear() === year && date.getUTCMonth() === month - 1 && date.getUTCDate() === day;
}

/**
 * `days` moved by whole days so the newest falls on `newest` (YYYY-MM-DD), gaps kept: the shipped
 * sample made current for development (docs/currencies.md#development-rates). Never for real rates.
 */
export function redated(days: readonly EcbDay[], newest: string): EcbDay[] {
  const last = days.at(-1);
  if (!last) return [];
  const shift_ms = Date.parse(`${newest}T00:00:00Z`) - Date.parse(`${last.date}T00:00:00Z`);
  return days.map((day) => ({ date: new Date(Date.parse(`${day.date}T00:00:00Z`) + shift_ms).toISOString().slice(0, 10), rates: day.rates }));
}
