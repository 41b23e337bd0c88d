import pino from 'pino';
import { maskCardNumbers } from './card-numbers.js';

/**
 * One logger configuration for every process, and redaction enforced here, in one place, in two layers:
 *
 * 1. Fields that can carry a secret are censored wherever they appear in a log object (paths below).
 *    Request bodies are never logged at all.
 * 2. Every line, as written, is searched for secrets that hide in free text — an error's message or
 *    stack, a URL, a database error's detail: card-number-like digit runs keep only their last four,
 *    API keys and webhook secrets keep only their prefix, `Bearer`/`Basic` credentials and CVC values
 *    go. This layer sees what the first cannot (text, and fields nested deeper than its paths).
 */
export const REDACTED_PATHS = [
  'authorization',
  '*.authorization',
  'headers.authorization',
  'req.headers.authorization',
  'card',
  '*.card',
  'number',
  '*.number',
  'cvc',
  '*.cvc',
  'secret',
  '*.secret',
  'secret_key',
  '*.secret_key',
  'api_key',
  '*.api_key',
  'password',
  '*.password',
  'body',
  '*.body',
];

const CENSOR = '[redacted]';

/** Epoch-millisecond numbers (13 digits starting with 1 as a JSON value, such as pino's `time`). */
const EPOCH_MS = /^1\d{12}$/;
const isEpochMsValue = (run: string, offset: number, whole: string): boolean => EPOCH_MS.test(run) && whole[offset - 1] === ':';

/** Secret and restricted API keys, and webhook signing secrets. Publishable keys are not secrets. */
const SECRET_KEY = /((?:sk|rk)_(?:test|live)_|whsec_)[A-Za-z0-9]{4,}/g;
const CREDENTIALS = /\b(Bearer|Basic)(\s+)[A-Za-z0-9+/=._~-]{6,}/gi;
/** `cvc=123`, `"cvc":"123"`, `card[cvc]=123` (raw or URL-encoded), also inside JSON-escaped text. */
const CVC_VALUE = /(cvc|cvv|cvc2|cvv2)((?:%5D|\\?["'\]])*\s*[:=]\s*(?:\\?["'])?)\d{3,4}(?!\d)/gi;

/** Masks secrets in free text; the same function guards every log line. */
export function redactText(text: string): string {
  return maskCardNumbers(text, isEpochMsValue).replace(SECRET_KEY, `$1${CENSOR}`).replace(CREDENTIALS, `$1$2${CENSOR}`).replace(CVC_VALUE, `$1$2${CENSOR}`);
}

export type Logger = pino.Logger;

export function createLogger(level: string, destination?: pino.DestinationStream): Logger {
  return pino(
    {
      level,
      base: { service: 'payrail' },
      redact: { paths: REDACTED_PATHS, censor: CENSOR },
      hooks: { streamWrite: redactText },
    },
    destination,
  );
}
