import { readFileSync } from 'node:fs';
import type { SecureContextOptions, TlsOptions } from 'node:tls';

/**
 * The API's HTTPS listener (PAYRAIL_TLS_CERT, PAYRAIL_TLS_KEY): TLS 1.2 and 1.3 only, forward-secret
 * AEAD ciphers only (Mozilla's "intermediate" profile: every client from the last decade, nothing
 * with CBC, RSA key exchange or SHA-1), and HSTS on every answer.
 */

/** The certificate chain and key, PEM, as read at start-up. */
export interface TlsCredentials {
  cert: Buffer;
  key: Buffer;
}

const MODERN_CIPHERS = [
  // TLS 1.3
  'TLS_AES_128_GCM_SHA256',
  'TLS_AES_256_GCM_SHA384',
  'TLS_CHACHA20_POLY1305_SHA256',
  // TLS 1.2: ECDHE key exchange, AEAD only
  'ECDHE-ECDSA-AES128-GCM-SHA256',
  'ECDHE-RSA-AES128-GCM-SHA256',
  'ECDHE-ECDSA-AES256-GCM-SHA384',
  'ECDHE-RSA-AES256-GCM-SHA384',
  'ECDHE-ECDSA-CHACHA20-POLY1305',
  'ECDHE-RSA-CHACHA20-POLY1305',
].join(':');

/** Browsers and SDKs that saw this once use https only for two years (RFC 6797). */
export const HSTS_HEADER = { 'strict-transport-security': 'max-age=63072000; includeSubDomains' } as const;

/** Options for an https server: the credentials with the protocol floor and cipher list above. */
export function tlsServerOptions(credentials: TlsCredentials, handshake_timeout_ms: number): TlsOptions & SecureContextOptions {
  return {
    cert: credentials.cert,
    key: credentials.key,
    minVersion: 'TLSv1.2',
    ciphers: MODERN_CIPHERS,
    honorCipherOrder: true,
    // A client that connects and never finishes the handshake holds a socket only this long.
    handshakeTimeout: handshake_timeout_ms,
  };
}

/** Reads the PEM files named by the settings; a missing or unreadable file stops the start with its path (never its content). */
export function readTlsCredentials(files: { cert_file: string; key_file: string }): TlsCredentials {
  const read = (path: string, what: string): Buffer => {
    try {
      return readFileSync(path);
    } catch (error) {
      throw new Error(`Cannot read the TLS ${what} at ${path}: ${(error as NodeJS.ErrnoException).code ?? 'unreadable'}`, { cause: error });
    }
  };
  return { cert: read(files.cert_file, 'certificate (PAYRAIL_TLS_CERT)'), key: read(files.key_file, 'key (PAYRAIL_TLS_KEY)') };
}
