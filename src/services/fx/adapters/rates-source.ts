import { readFile, stat } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ECB_FILE_MAX_BYTES } from '../domain/ecb.js';

/**
 * Where an ECB reference-rates file comes from: a local path, or an http(s) URL fetched with a
 * timeout (production points fx_rates_url at the ECB's daily file). Either way the whole file is
 * read, bounded in size, before anything is parsed.
 */
export interface RatesSource {
  /** The path or URL, for messages. */
  readonly location: string;
  read(): Promise<string>;
}

export class RatesSourceError extends Error {
  override name = 'RatesSourceError';
}

/** The ECB answers in well under a second; a stalled fetch must not hold a load for long. */
export const FETCH_TIMEOUT_MS = 15_000;

/** The sample shipped with Payrail (a few days of ECB-format rates), for development and tests. */
export const SAMPLE_RATES_FILE = resolve(dirname(fileURLToPath(import.meta.url)), '../../../../data/fx/eurofxref-sample.xml');

export function ratesSource(location: string, timeout_ms = FETCH_TIMEOUT_MS): RatesSource {
  return /^https?:\/\//i.test(location) ? urlSource(location, timeout_ms) : fileSource(location);
}

function fileSource(path: string): RatesSource {
  return {
    location: path,
    read: async () => {
      const size = await stat(path)
        .then((info) => info.size)
        .catch((error: Error) => {
          throw new RatesSourceError(`cannot read ${path}: ${error.message}`);
        });
      if (size > ECB_FILE_MAX_BYTES) throw tooLarge(path);
      return readFile(path, 'utf8');
    },
  };
}

function urlSource(url: string, timeout_ms: number): RatesSource {
  return {
    location: url,
    read: async () => {
      try {
        // One deadline for the answer and its whole body: a server that stalls mid-file fails the load too.
        const response = await fetch(url, { signal: AbortSignal.timeout(timeout_ms), redirect: 'follow' });
        if (!response.ok) throw new RatesSourceError(`fetching ${url} answered HTTP ${response.status}`);
        if (Number(response.headers.get('content-length') ?? 0) > ECB_FILE_MAX_BYTES) throw tooLarge(url);
        const body = await response.text();
        if (Buffer.byteLength(body) > ECB_FILE_MAX_BYTES) throw tooLarge(url);
        return body;
      } catch (error) {
        if (error instanceof RatesSourceError) throw error;
        throw new RatesSourceError(`fetching ${url} failed: ${(error as Error).message}`);
      }
    },
  };
}

function tooLarge(location: string): RatesSourceError {
  return new RatesSourceError(`${location} is larger than ${ECB_FILE_MAX_BYTES} bytes`);
}
