import { z } from 'zod';
import { PayrailError } from '../../../kernel/errors.js';
import type { IdGenerator } from '../../../kernel/ids.js';
import type { Db, Pool } from '../../../platform/db.js';
import { isUniqueViolation, run, withTransaction } from '../../../platform/db.js';
import * as P from '../../../platform/http/params.js';
import { withMerchant } from '../../../platform/merchant-scope.js';
import { securityEvent } from '../../audit/index.js';
import type { CredentialSealer } from './connector-factory.js';
import type { AccountStatus, StoredAccount } from '../adapters/accounts-store.js';
import { accountCount, currentRouting, getAccount, insertAccount, listAccounts, lockMerchantRouting, updateAccount } from '../adapters/accounts-store.js';
import { referencedAccounts } from '../domain/routing-rules.js';
import type { ConnectorType, RegisteredConnectorFactory } from './registry.js';
import { CONNECTOR_TYPES, connectorFactory } from './registry.js';
import type { AccountChange } from './routing-admin.js';
import { checkDefaultRoutable } from './routing-admin.js';

export type { AccountChange } from './routing-admin.js';

/**
 * A merchant's connector accounts (the admin API and the CLI): add, change (label, status, new
 * credentials), delete. Credentials are checked by the kind's strict schema, sealed by the vault
 * under the account's id, and never shown again: responses and audit events carry a masked hint.
 * Each change is one transaction with its audit event, serialized per merchant with routing changes.
 */

export const MAX_ACCOUNTS_PER_MERCHANT = 20;
/** Credentials as JSON: room for a PEM key, small enough that a row stays small. */
const MAX_CREDENTIALS_JSON = 8_192;
const LABEL = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;
/** Secrets shorter than this show no characters at all in their hint. */
const HINT_MIN_SECRET_LENGTH = 12;

export interface AccountsDeps {
  /** The system role's pool: an operator acts for any merchant. */
  pool: Pool;
  ids: IdGenerator;
  sealer: CredentialSealer;
}

export interface ConnectorAccountView {
  id: string;
  object: 'connector_account';
  merchant: string;
  type: ConnectorType;
  label: string;
  status: Exclude<AccountStatus, 'deleted'>;
  /** Non-secret fields as given; secret ones as `…` and their last four characters at most. */
  credentials: Record<string, string>;
  created: number;
  updated: number;
}

const label = P.text(64).transform((value, ctx) => {
  if (LABEL.test(value)) return value;
  ctx.addIssue({ code: 'custom', message: 'Invalid label: 1 to 64 letters, digits, dots, dashes or underscores, starting with a letter or digit.' });
  return z.NEVER;
});
const status = P.oneOf(['enabled', 'disabled'] as const);
export const createAccountSchema = z.strictObject({ type: P.oneOf(CONNECTOR_TYPES), label, credentials: z.unknown().optional(), status: status.optional() });
export const updateAccountSchema = z.strictObject({ label: label.optional(), status: status.optional(), credentials: z.unknown().optional() });

export function renderAccount(account: StoredAccount): ConnectorAccountView {
  return {
    id: account.id,
    object: 'connector_account',
    merchant: account.merchant_id,
    type: account.type,
    label: account.label,
    status: account.status === 'deleted' ? 'disabled' : account.status,
    credentials: account.credentials_hint,
    created: account.created,
    updated: account.updated,
  };
}

export function listConnectorAccounts(deps: Pick<AccountsDeps, 'pool'>, merchant_id: string): Promise<ConnectorAccountView[]> {
  return withMerchant(merchant_id, async () => (await listAccounts(deps.pool, merchant_id)).map(renderAccount));
}

export function retrieveConnectorAccount(deps: Pick<AccountsDeps, 'pool'>, merchant_id: string, id: string): Promise<ConnectorAccountView> {
  return withMerchant(merchant_id, async () => renderAccount(liveAccount(await getAccount(deps.pool, merchant_id, id), id)));
}

export function createConnectorAccount(
  deps: AccountsDeps,
  merchant_id: string,
  input: z.output<typeof createAccountSchema>,
  change: AccountChange,
): Promise<ConnectorAccountView> {
  return withMerchant(merchant_id, async () => {
    const factory = availableFactory(input.type);
    const credentials = checkedCredentials(factory, input.credentials ?? {});
    const id = deps.ids.next('connector_account');
    const now_s = Math.floor(change.now_ms / 1000);
    const account: StoredAccount = {
      merchant_id,
      id,
      type: input.type,
      label: input.label,
      status: input.status ?? 'enabled',
      credentials_hint: credentialsHint(factory, credentials),
      created: now_s,
      updated: now_s,
      version: 1,
    };
    const sealed = await deps.sealer.seal(JSON.stringify(credentials), sealContext(merchant_id, id));
    return withTransaction(deps.pool, async (client) => {
      await lockMerchantRouting(client, merchant_id);
      if ((await accountCount(client, merchant_id)) >= MAX_ACCOUNTS_PER_MERCHANT)
        throw new PayrailError('parameter_invalid', {
          message: `A merchant can have at most ${MAX_ACCOUNTS_PER_MERCHANT} connector accounts; delete one first.`,
        });
      await saving(() => run(client, insertAccount(account, sealed)), account.label);
      await audit(client, 'connector_account.created', undefined, account, change);
      return renderAccount(account);
    });
  });
}

/** New label, status, or credentials (a rotation: the old ones are replaced whole, never merged). */
export function updateConnectorAccount(
  deps: AccountsDeps,
  merchant_id: string,
  id: string,
  input: z.output<typeof updateAccountSchema>,
  change: AccountChange,
): Promise<ConnectorAccountView> {
  return withMerchant(merchant_id, async () => {
    const read = liveAccount(await getAccount(deps.pool, merchant_id, id), id);
    const factory = availableFactory(read.type);
    const credentials = input.credentials === undefined ? undefined : checkedCredentials(factory, input.credentials);
    const sealed = credentials && (await deps.sealer.seal(JSON.stringify(credentials), sealContext(merchant_id, id)));
    return withTransaction(deps.pool, async (client) => {
      await lockMerchantRouting(client, merchant_id);
      const before = liveAccount(await getAccount(client, merchant_id, id, true), id);
      const after: StoredAccount = {
        ...before,
        label: input.label ?? before.label,
        status: input.status ?? before.status,
        credentials_hint: credentials ? credentialsHint(factory, credentials) : before.credentials_hint,
        updated: Math.floor(change.now_ms / 1000),
        version: before.version + 1,
      };
      if (after.status === 'disabled' && before.status === 'enabled') await checkStillRoutable(client, merchant_id, id);
      await saving(() => run(client, updateAccount(after, before.version, sealed)), after.label);
      await audit(client, 'connector_account.updated', before, after, change, credentials !== undefined);
      return renderAccount(after);
    });
  });
}

/**
 * Refused while the routing rules in force name the account: change the rules first. The row stays
 * (status `deleted`), so the payments it authorized can still be captured, refunded and inquired.
 */
export function deleteConnectorAccount(
  deps: Pick<AccountsDeps, 'pool'>,
  merchant_id: string,
  id: string,
  change: AccountChange,
): Promise<{ id: string; object: 'connector_account'; deleted: true }> {
  return withMerchant(merchant_id, () =>
    withTransaction(deps.pool, async (client) => {
      await lockMerchantRouting(client, merchant_id);
      const before = liveAccount(await getAccount(client, merchant_id, id, true), id);
      const routing = await currentRouting(client, merchant_id);
      if (routing?.rules && referencedAccounts(routing.rules).has(id))
        throw new PayrailError('parameter_invalid', {
          param: 'id',
          message: `The routing rules (version ${routing.version}) route to ${id}; take it out of them before deleting it.`,
        });
      const after: StoredAccount = { ...before, status: 'deleted', updated: Math.floor(change.now_ms / 1000), version: before.version + 1 };
      await run(client, updateAccount(after, before.version, undefined));
      await audit(client, 'connector_account.deleted', before, undefined, change);
      return { id, object: 'connector_account' as const, deleted: true as const };
    }),
  );
}

/** What the account's credentials were sealed with: a sealed value copied to another row does not open. */
export function sealContext(merchant_id: string, account_id: string): string {
  return `connector_account:${merchant_id}:${account_id}`;
}

function liveAccount(account: StoredAccount | undefined, id: string): StoredAccount {
  if (!account || account.status === 'deleted')
    throw new PayrailError('resource_missing', { param: 'id', message: `No such connector account: '${id.slice(0, 80)}'` });
  return account;
}

function availableFactory(type: ConnectorType): RegisteredConnectorFactory {
  const factory = connectorFactory(type);
  if (!factory) throw new PayrailError('parameter_invalid', { param: 'type', message: `Connector type '${type}' is not available in this build.` });
  return factory;
}

/** Parsed by the kind's strict schema: an error names `credentials[field]` and never echoes a value. */
function checkedCredentials(factory: RegisteredConnectorFactory, credentials: unknown): Record<string, unknown> {
  const parsed = P.parseParams(z.strictObject({ credentials: factory.credentials }), { credentials }).credentials as Record<string, unknown>;
  if (JSON.stringify(parsed).length > MAX_CREDENTIALS_JSON)
    throw new PayrailError('parameter_invalid', { param: 'credentials', message: `Credentials can be at most ${MAX_CREDENTIALS_JSON} characters as JSON.` });
  return parsed;
}

export function credentialsHint(factory: Pick<RegisteredConnectorFactory, 'secret_fields'>, credentials: Record<string, unknown>): Record<string, string> {
  const hint: Record<string, string> = {};
  for (const [field, value] of Object.entries(credentials)) {
    const text = typeof value === 'string' ? value : JSON.stringify(value);
    if (!factory.secret_fields.includes(field)) hint[field] = text;
    else hint[field] = text.length >= HINT_MIN_SECRET_LENGTH ? `…${text.slice(-4)}` : '…';
  }
  return hint;
}

async function checkStillRoutable(client: Db, merchant_id: string, id: string): Promise<void> {
  const routing = await currentRouting(client, merchant_id);
  if (!routing?.rules) return;
  const accounts = (await listAccounts(client, merchant_id)).map((account) => (account.id === id ? { ...account, status: 'disabled' as const } : account));
  checkDefaultRoutable(routing.rules.default, accounts, 'status');
}

async function saving(write: () => Promise<unknown>, label: string): Promise<void> {
  try {
    await write();
  } catch (error) {
    if (isUniqueViolation(error))
      throw new PayrailError('resource_already_exists', { param: 'label', message: `Another connector account of this merchant is labelled '${label}'.` });
    throw error;
  }
}

/** The audit event: labels, status and the masked hint, never the credentials; `rotated` when they changed. */
async function audit(client: Db, type: string, before: StoredAccount | undefined, after: StoredAccount | undefined, change: AccountChange, rotated = false) {
  const account = after ?? before;
  if (!account) return;
  const shown = (a: StoredAccount | undefined) => a && { type: a.type, label: a.label, status: a.status, credentials: a.credentials_hint };
  await run(
    client,
    securityEvent({
      type,
      merchant_id: account.merchant_id,
      object_id: account.id,
      actor: change.actor,
      at_ms: change.now_ms,
      data: { old: shown(before) ?? null, new: shown(after) ?? null, credentials_rotated: rotated },
    }),
  );
}
