/**
 * The connector kinds a merchant's connector account may be, each with the strict schema of its
 * credentials and how to build the Connector from them. Adding a processor is one entry here: the
 * accounts store validates credentials with `credentials`, seals them, and calls `create` with them
 * decrypted only when a connector is opened.
 */
import { z } from 'zod';
import type { ConnectorFactory, RegisteredConnectorFactory } from './connector-factory.js';
import { registerFactory } from './connector-factory.js';
import { stripeFactory } from '../adapters/stripe-factory.js';
import { ADYEN_SECRET_FIELDS, adyenCredentials, createAdyenConnector } from '../adapters/adyen-factory.js';

export type { BuiltConnector, ConnectorFactory, ConnectorFactoryContext, RegisteredConnectorFactory } from './connector-factory.js';
export { registerFactory } from './connector-factory.js';

export const CONNECTOR_TYPES = ['sandbox', 'stripe', 'adyen'] as const;
export type ConnectorType = (typeof CONNECTOR_TYPES)[number];

const sandboxFactory: ConnectorFactory<Record<string, never>> = {
  credentials: z.strictObject({}),
  secret_fields: [],
  create: (_credentials, ctx) => ctx.sandbox,
};

/** Connector kinds whose factory exists; `stripe` and `adyen` are added with their connectors. */
export const CONNECTOR_FACTORIES: Partial<Record<ConnectorType, RegisteredConnectorFactory>> = {
  sandbox: registerFactory(sandboxFactory),
  stripe: registerFactory(stripeFactory),
  adyen: registerFactory({ credentials: adyenCredentials, secret_fields: ADYEN_SECRET_FIELDS, create: createAdyenConnector }),
};

export function connectorFactory(type: ConnectorType): RegisteredConnectorFactory | null {
  return CONNECTOR_FACTORIES[type] ?? null;
}

export function isConnectorType(value: unknown): value is ConnectorType {
  return typeof value === 'string' && (CONNECTOR_TYPES as readonly string[]).includes(value);
}
