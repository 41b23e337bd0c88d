import { z } from 'zod';
import { assert } from '../../../kernel/assert.js';
import type { IdGenerator } from '../../../kernel/ids.js';
import type { Pool } from '../../../platform/db.js';
import * as P from '../../../platform/http/params.js';
import type { CredentialSealer } from '../app/connector-factory.js';
import type { AccountChange, ConnectorAccountView } from '../app/connector-accounts.js';
import {
  createAccountSchema,
  createConnectorAccount,
  deleteConnectorAccount,
  listConnectorAccounts,
  retrieveConnectorAccount,
  updateAccountSchema,
  updateConnectorAccount,
} from '../app/connector-accounts.js';
import type { RoutingView } from '../app/routing-admin.js';
import { evaluateRouting, getRouting, setRouting } from '../app/routing-admin.js';
import type { HealthView, Route } from '../domain/routing.js';
import { parseRouting } from './routing-schema.js';

/**
 * The operators' operations on connector accounts and routing rules, taking input as sent (a JSON or
 * form body, the CLI's values), so the admin API and the CLI parse and refuse the same way.
 */

export interface ConnectorsAdminDeps {
  /** The system role's pool: an operator acts for any merchant. */
  pool: Pool;
  ids: IdGenerator;
  /** The vault's sealer for `connector_credentials`: needed to add an account or change its credentials. */
  sealer?: CredentialSealer | undefined;
  /** The router's live health for dry runs; every account healthy without it. */
  health?: HealthView | undefined;
  /** Who acts, and when. */
  change: () => AccountChange;
}

export interface ConnectorsAdmin {
  list(merchant_id: string): Promise<ConnectorAccountView[]>;
  retrieve(merchant_id: string, account_id: string): Promise<ConnectorAccountView>;
  create(merchant_id: string, body: unknown): Promise<ConnectorAccountView>;
  update(merchant_id: string, account_id: string, body: unknown): Promise<ConnectorAccountView>;
  remove(merchant_id: string, account_id: string): Promise<{ id: string; object: 'connector_account'; deleted: true }>;
  routing(merchant_id: string): Promise<RoutingView>;
  /** `null` removes the rules (everything to the built-in sandbox). */
  setRouting(merchant_id: string, body: unknown, expected_version?: number): Promise<RoutingView>;
  evaluate(merchant_id: string, body: unknown): Promise<Route & { object: 'routing_evaluation'; version: number }>;
}

const evaluateSchema = z.strictObject({
  amount: P.amount(),
  currency: P.currency(),
  card: z
    .strictObject({
      brand: P.nonEmptyText(20).optional(),
      country: P.nonEmptyText(2)
        .transform((value) => value.toUpperCase())
        .optional(),
      bin: P.text(6)
        .refine((value) => /^[0-9]*$/.test(value), 'Invalid bin: digits only.')
        .optional(),
    })
    .optional(),
  metadata: P.metadata().optional(),
  attempt_id: P.nonEmptyText(255).optional(),
});
const clearSchema = z.strictObject({ expected_version: P.integer({ min: 0 }).optional() });

export function connectorsAdmin(deps: ConnectorsAdminDeps): ConnectorsAdmin {
  const sealing = () => {
    assert(deps.sealer, 'adding credentials needs the vault sealer');
    return { pool: deps.pool, ids: deps.ids, sealer: deps.sealer };
  };
  const routing = { pool: deps.pool, health: deps.health };
  return {
    list: (merchant_id) => listConnectorAccounts(deps, merchant_id),
    retrieve: (merchant_id, account_id) => retrieveConnectorAccount(deps, merchant_id, account_id),
    create: (merchant_id, body) => createConnectorAccount(sealing(), merchant_id, P.parseParams(createAccountSchema, body), deps.change()),
    update: (merchant_id, account_id, body) =>
      updateConnectorAccount(sealing(), merchant_id, account_id, P.parseParams(updateAccountSchema, body), deps.change()),
    remove: (merchant_id, account_id) => deleteConnectorAccount(deps, merchant_id, account_id, deps.change()),
    routing: (merchant_id) => getRouting(routing, merchant_id),
    setRouting: (merchant_id, body, expected_version) => {
      if (body === null) return setRouting(routing, merchant_id, null, expected_version, deps.change());
      const parsed = parseRouting(body);
      return setRouting(routing, merchant_id, parsed.rules, expected_version ?? parsed.expected_version, deps.change());
    },
    evaluate: (merchant_id, body) => {
      const input = P.parseParams(evaluateSchema, body);
      const metadata = Object.entries(input.metadata ?? {}).filter((entry): entry is [string, string] => entry[1] !== null);
      return evaluateRouting(routing, merchant_id, {
        amount: input.amount,
        currency: input.currency,
        bin: input.card?.bin ?? '',
        attempt_id: input.attempt_id ?? deps.ids.next('charge'),
        facts: { brand: input.card?.brand ?? 'unknown', country: input.card?.country ?? null, metadata: Object.fromEntries(metadata) },
      });
    },
  };
}

/** The body of `DELETE …/routing`: only an optional expected version. */
export function parseClearRouting(body: unknown): number | undefined {
  return P.parseParams(clearSchema, body ?? {}).expected_version;
}
