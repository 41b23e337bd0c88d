import { readFileSync } from 'node:fs';
import { Agent } from 'node:https';
import type { TLSSocket } from 'node:tls';
import type { SecureContextOptions, TlsOptions } from 'node:tls';
import { tlsServerOptions } from './tls.js';

/**
 * Mutual TLS between Payrail's own processes (the vault, risk and their callers): each side shows a
 * certificate from the deployment's private CA (deploy/local/ca.sh makes one) and accepts only peers
 * whose certificate that CA signed. The public API's listener is tls.ts.
 */

/** The CA that signs every service certificate, and this process's own certificate and key; PEM. */
export interface MtlsCredentials {
  ca: Buffer;
  cert: Buffer;
  key: Buffer;
}

/** PAYRAIL_VAULT_TLS_CA, PAYRAIL_VAULT_TLS_CERT, PAYRAIL_VAULT_TLS_KEY. */
export interface MtlsFiles {
  ca_file: string;
  cert_file: string;
  key_file: string;
}

/** Reads the three PEM files; a missing one stops the start with its path (never its content). */
export function readMtlsCredentials(files: MtlsFiles): MtlsCredentials {
  const read = (path: string, what: string): Buffer => {
    try {
      return readFileSync(path);
    } catch (error) {
      throw new Error(`Cannot read the service TLS ${what} at ${path}: ${(error as NodeJS.ErrnoException).code ?? 'unreadable'}`, { cause: error });
    }
  };
  return { ca: read(files.ca_file, 'CA certificate'), cert: read(files.cert_file, 'certificate'), key: read(files.key_file, 'key') };
}

/** An https server that refuses, during the handshake, any client without a certificate from the CA. */
export function mtlsServerOptions(credentials: MtlsCredentials, handshake_timeout_ms: number): TlsOptions & SecureContextOptions {
  return { ...tlsServerOptions(credentials, handshake_timeout_ms), ca: credentials.ca, requestCert: true, rejectUnauthorized: true };
}

/** Kept-alive connections that show this process's certificate and trust only the CA (never the system's roots). */
export function mtlsAgent(credentials: MtlsCredentials, max_sockets: number): Agent {
  return new Agent({ ca: credentials.ca, cert: credentials.cert, key: credentials.key, minVersion: 'TLSv1.2', keepAlive: true, maxSockets: max_sockets });
}

/** The common name of the certificate the peer showed (which service called), for the audit log. */
export function peerName(socket: TLSSocket): string {
  const subject = socket.getPeerCertificate().subject as Record<string, string | string[]> | undefined;
  const name = subject?.CN;
  return Array.isArray(name) ? name.join(',') : (name ?? 'unknown');
}
