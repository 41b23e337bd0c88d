/**
 * What a connector kind provides to the registry (registry.ts): the strict schema of its credentials,
 * which of their fields are secrets, and how to build the Connector. Kept apart from the registry so a
 * connector's factory module imports these types without importing the registry that imports it.
 */
import type { z } from 'zod';
import type { Clock } from '../../../kernel/clock.js';
import type { Pool } from '../../../platform/db.js';
import type { Logger } from '../../../platform/logger.js';
import type { Connector, NotificationVerifier } from '../domain/port.js';

export interface ConnectorFactoryContext {
  clock: Clock;
  logger: Logger;
  /** The shared in-process sandbox: a `sandbox` account is this one processor, whatever its label. */
  sandbox: Connector;
  /** How long a processor call may take before the connector gives up on it. */
  fetch_timeout_ms: number;
  /** The system role's pool, for a connector that keeps its own records (as the sandbox does). */
  pool: Pool;
  /** The connector account being opened: a processor's notification may name no merchant. */
  account: { id: string; merchant_id: string };
}

/** What a factory builds: a Connector, and a notification verifier when its processor pushes notifications. */
export type BuiltConnector = Connector & Partial<NotificationVerifier>;

export interface ConnectorFactory<Credentials = unknown> {
  /** Strict: an unknown field is refused, so a typo never passes as a credential silently ignored. */
  credentials: z.ZodType<Credentials>;
  /**
   * The credential fields that are secrets: never shown back, only their last four characters as a
   * hint. Every other field (a merchant account name, an environment) is shown as given.
   */
  secret_fields: readonly string[];
  create(credentials: Credentials, ctx: ConnectorFactoryContext): BuiltConnector;
}

/** A factory as the registry holds it: credentials are parsed again by its own schema before `create`. */
export interface RegisteredConnectorFactory {
  credentials: z.ZodType;
  secret_fields: readonly string[];
  create(credentials: unknown, ctx: ConnectorFactoryContext): BuiltConnector;
}

/** Registers a factory: its `create` only ever sees credentials its own schema accepted. */
export function registerFactory<Credentials>(factory: ConnectorFactory<Credentials>): RegisteredConnectorFactory {
  return {
    credentials: factory.credentials,
    secret_fields: factory.secret_fields,
    create: (credentials, ctx) => factory.create(factory.credentials.parse(credentials), ctx),
  };
}

/**
 * Seals and opens credentials: the vault's SecretSealer for purpose `connector_credentials` fits.
 * Declared here so the connectors service does not import the vault (which imports the port).
 */
export interface CredentialSealer {
  seal(plaintext: string, context: string): Promise<Buffer>;
  open(sealed: Buffer, context: string): Promise<string>;
}
