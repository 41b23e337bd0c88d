import pino from 'pino';

/**
 * One logger configuration for every process. Redaction is enforced here, in one place: any field
 * that can carry a secret is censored wherever it appears in a log object. Request bodies are never
 * logged at all.
 */
export const REDACTED_PATHS = [
  'authorization', '*.authorization', 'headers.authorization', 'req.headers.authorization',
  'card', '*.card', 'number', '*.number', 'cvc', '*.cvc', 'secret', '*.secret', 'secret_key', '*.secret_key',
  'api_key', '*.api_key', 'password', '*.password', 'body', '*.body',
];

export type Logger = pino.Logger;

export function createLogger(level: string, destination?: pino.DestinationStream): Logger {
  return pino(
    { level, base: { service: 'payrail' }, redact: { paths: REDACTED_PATHS, censor: '[redacted]' } },
    destination,
  );
}
