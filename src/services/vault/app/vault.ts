import type { Db, SqlFragment } from '../../../platform/db.js';
import { run, sql } from '../../../platform/db.js';
import type { IdGenerator } from '../../../kernel/ids.js';
import { PayrailError } from '../../../kernel/errors.js';
import type { CardForProcessor } from '../../connectors/index.js';
import type { ValidCard } from '../domain/card.js';
import type { BillingDetails, CardDetails, PaymentMethodRecord } from '../domain/payment-method.js';

export type { BillingDetails, CardDetails, PaymentMethodRecord };
import { TEST_PAYMENT_METHODS, validateCard } from '../domain/card.js';
import type { KeyPurpose } from '../domain/kms.js';
import type { VaultKeyPort } from './key-port.js';
import type { VaultKeyring } from './keyring.js';
import { describeCard, localVaultKeys } from './local-keys.js';
import type { SecretSealer } from './secret-sealer.js';
import { portSealer, secretSealer } from './secret-sealer.js';

/**
 * The vault's port: the only code that sees a card number in clear. Callers get card metadata
 * (brand, last4, expiry, fingerprint) and, for a payment, the card for the processor in memory plus
 * an audit write to commit with the payment.
 */
export interface CardForPayment {
  method: PaymentMethodRecord;
  card: CardForProcessor;
  /** Records the detokenization; null for Stripe's built-in test ids, which hold no stored card. */
  audit: SqlFragment | null;
}

const EMPTY_BILLING: BillingDetails = { address: null, email: null, name: null, phone: null };
const TEST_METHOD_CACHE_LIMIT = 10_000;

export class Vault {
  private readonly test_methods = new Map<string, PaymentMethodRecord>();
  private readonly keys: VaultKeyPort;
  /** Set when the keys are in this process (one-process mode, the CLI); absent behind a remote vault. */
  private readonly keyring: VaultKeyring | undefined;

  /**
   * `keys`: an opened keyring (the keys in this process), or the key port of a vault process
   * (remoteVaultBinding). `sealed_reader`: with a keyring, the pool sealed cards are read through,
   * the vault's own database role (the request path's role may not read them; docs/security.md).
   */
  constructor(keys: VaultKeyring | VaultKeyPort, sealed_reader?: Db) {
    this.keyring = 'envelopes' in keys ? keys : undefined;
    this.keys = 'envelopes' in keys ? localVaultKeys(keys, sealed_reader) : keys;
  }

  /** The port other services seal their secrets with, under the purpose's own key. */
  sealer(purpose: Exclude<KeyPurpose, 'cards'>): SecretSealer {
    return this.keyring ? secretSealer(this.keyring.envelopes, purpose) : portSealer(this.keys, purpose);
  }

  /** A bank account's keyed fingerprint (Stripe's `fingerprint`): the same account gives the same one, and it reveals no digits. */
  async bankAccountFingerprint(merchant_id: string, routing_number: string, account_number: string): Promise<string> {
    return (await this.keys.fingerprint({ merchant_id, value: `${routing_number}:${account_number}` })).fingerprint;
  }

  async tokenize(
    ids: IdGenerator,
    merchant_id: string,
    input: { card: ValidCard; billing_details?: BillingDetails; metadata?: Record<string, string>; customer?: string },
    now_s: number,
  ): Promise<{ method: PaymentMethodRecord; write: SqlFragment }> {
    const id = ids.next('payment_method');
    const { number, exp_month, exp_year } = input.card;
    const sealed = await this.keys.seal_card({ merchant_id, payment_method_id: id, number, exp_month, exp_year });
    const method: PaymentMethodRecord = {
      id,
      merchant_id,
      customer: input.customer ?? null,
      card: sealed.card,
      billing_details: input.billing_details ?? EMPTY_BILLING,
      metadata: input.metadata ?? {},
      created: now_s,
      version: 1,
    };
    const write = sql`INSERT INTO vault.payment_methods (merchant_id, id, customer_id, created, version, state, kek_id, wrapped_key, ciphertext, key_version)
      VALUES (${merchant_id}, ${id}, ${method.customer}, ${now_s}, 1, ${JSON.stringify(method)}::jsonb, ${sealed.kek_id},
        ${Buffer.from(sealed.wrapped_key, 'utf8')}, ${Buffer.from(sealed.ciphertext, 'base64')}, ${sealed.key_version})`;
    return { method, write };
  }

  validate(input: Parameters<typeof validateCard>[0], now_ms: number): ValidCard {
    const now = new Date(now_ms);
    return validateCard(input, { year: now.getUTCFullYear(), month: now.getUTCMonth() + 1 });
  }

  async get(db: Db, merchant_id: string, id: string, param?: string): Promise<PaymentMethodRecord> {
    const test = await this.testMethod(merchant_id, id);
    if (test) return test;
    const result = await run<{ state: PaymentMethodRecord }>(
      db,
      sql`SELECT state FROM vault.payment_methods WHERE merchant_id = ${merchant_id} AND id = ${id}`,
    );
    const row = result.rows[0];
    if (!row) throw new PayrailError('resource_missing', { param, message: `No such PaymentMethod: '${id.slice(0, 64)}'` });
    return row.state;
  }

  async cardForPayment(db: Db, merchant_id: string, id: string, reference_id: string, now_ms: number): Promise<CardForPayment> {
    const test_card = TEST_PAYMENT_METHODS.get(id);
    if (test_card) {
      const method = await this.testMethod(merchant_id, id);
      if (!method) throw new PayrailError('resource_missing', { param: 'payment_method', message: `No such PaymentMethod: '${id}'` });
      return { method, card: { ...test_card }, audit: null };
    }
    // The metadata through the caller's role, the number through the key port, side by side.
    const [method, { number }] = await Promise.all([
      this.get(db, merchant_id, id, 'payment_method'),
      this.keys.open_card({ merchant_id, payment_method_id: id, reference_id }),
    ]);
    const audit = sql`INSERT INTO vault.detokenizations (merchant_id, payment_method_id, purpose, reference_id, at_ms)
      VALUES (${merchant_id}, ${id}, 'authorize', ${reference_id}, ${now_ms})`;
    return { method, card: { number, exp_month: method.card.exp_month, exp_year: method.card.exp_year, cvc: undefined }, audit };
  }

  /**
   * Attaching a Stripe test id stores a copy of its card first, as Stripe does. Nothing is written
   * here: the caller commits the writes with its event and response, so a retry finds all or nothing.
   */
  async attach(
    db: Db,
    ids: IdGenerator,
    merchant_id: string,
    id: string,
    customer_id: string,
    now_s: number,
  ): Promise<{ method: PaymentMethodRecord; writes: SqlFragment[] }> {
    const method = await this.get(db, merchant_id, id);
    const test_card = TEST_PAYMENT_METHODS.get(id);
    if (test_card) {
      const stored = await this.tokenize(ids, merchant_id, { card: this.validate(test_card, now_s * 1000), customer: customer_id }, now_s);
      return { method: stored.method, writes: [stored.write] };
    }
    if (method.customer !== null && method.customer !== customer_id) {
      throw new PayrailError('payment_method_unexpected_state', { message: 'This PaymentMethod is already attached to another customer.' });
    }
    return { method: { ...method, customer: customer_id, version: method.version + 1 }, writes: [setCustomer(method, customer_id)] };
  }

  /**
   * Stores the card of one of Stripe's test ids as a PaymentMethod of its own (`card[token]=tok_visa`
   * makes one). Nothing is written here: the caller commits the write.
   */
  async storeTestCard(
    ids: IdGenerator,
    merchant_id: string,
    id: string,
    input: { billing_details?: BillingDetails; metadata?: Record<string, string> },
    now_s: number,
  ): Promise<{ method: PaymentMethodRecord; write: SqlFragment }> {
    const test_card = TEST_PAYMENT_METHODS.get(id);
    if (!test_card) throw new PayrailError('resource_missing', { message: `No such test PaymentMethod: '${id.slice(0, 64)}'` });
    return this.tokenize(ids, merchant_id, { ...input, card: this.validate(test_card, now_s * 1000) }, now_s);
  }

  async detach(db: Db, merchant_id: string, id: string): Promise<{ method: PaymentMethodRecord; writes: SqlFragment[] }> {
    const method = await this.get(db, merchant_id, id);
    if (method.customer === null) throw new PayrailError('payment_method_unexpected_state', { message: 'The PaymentMethod is not attached to a customer.' });
    return { method: { ...method, customer: null, version: method.version + 1 }, writes: [setCustomer(method, null)] };
  }

  /**
   * `paymentMethods.update`: billing details, metadata and the card's expiry (a renewed card keeps its
   * number). Stripe's built-in test ids hold no stored card to change. Nothing is written here.
   */
  async update(
    db: Db,
    merchant_id: string,
    id: string,
    change: (method: PaymentMethodRecord) => PaymentMethodRecord,
  ): Promise<{ method: PaymentMethodRecord; writes: SqlFragment[] }> {
    const method = await this.get(db, merchant_id, id);
    if (TEST_PAYMENT_METHODS.has(id)) {
      throw new PayrailError('payment_method_unexpected_state', {
        message: `${id} is a shared test PaymentMethod; attach it to a customer or create one to change it.`,
      });
    }
    const next = { ...change(method), id: method.id, merchant_id, customer: method.customer, version: method.version + 1 };
    const write = sql`UPDATE vault.payment_methods SET version = ${next.version}, state = ${JSON.stringify(next)}::jsonb
      WHERE merchant_id = ${merchant_id} AND id = ${id} AND version = ${method.version}`;
    return { method: next, writes: [write] };
  }

  /**
   * A customer's payment methods, newest first, with Stripe's cursors: `starting_after` walks older,
   * `ending_before` (when `starting_after` is absent) walks newer.
   */
  async listForCustomer(
    db: Db,
    merchant_id: string,
    customer_id: string,
    limit: number,
    starting_after?: string,
    ending_before?: string,
  ): Promise<{ data: PaymentMethodRecord[]; has_more: boolean }> {
    const backwards = starting_after === undefined && ending_before !== undefined;
    const result = backwards
      ? await run<{ state: PaymentMethodRecord }>(
          db,
          sql`SELECT state FROM vault.payment_methods
          WHERE merchant_id = ${merchant_id} AND customer_id = ${customer_id} AND id > ${ending_before}
          ORDER BY id ASC LIMIT ${limit + 1}`,
        )
      : await run<{ state: PaymentMethodRecord }>(
          db,
          sql`SELECT state FROM vault.payment_methods
          WHERE merchant_id = ${merchant_id} AND customer_id = ${customer_id} AND id < ${starting_after ?? '\u{10FFFF}'}
          ORDER BY id DESC LIMIT ${limit + 1}`,
        );
    const data = result.rows.slice(0, limit).map((r) => r.state);
    return { data: backwards ? data.reverse() : data, has_more: result.rows.length > limit };
  }

  private async testMethod(merchant_id: string, id: string): Promise<PaymentMethodRecord | undefined> {
    const card = TEST_PAYMENT_METHODS.get(id);
    if (!card) return undefined;
    const cache_key = `${merchant_id}/${id}`;
    const cached = this.test_methods.get(cache_key);
    if (cached) return cached;
    const method: PaymentMethodRecord = {
      id,
      merchant_id,
      customer: null,
      billing_details: EMPTY_BILLING,
      metadata: {},
      created: 0,
      version: 1,
      card: describeCard(card.number, card.exp_month, card.exp_year, (await this.keys.fingerprint({ merchant_id, value: card.number })).fingerprint),
    };
    if (this.test_methods.size >= TEST_METHOD_CACHE_LIMIT) this.test_methods.clear();
    this.test_methods.set(cache_key, method);
    return method;
  }
}

/** Affects no row unless the stored version is still `method`'s. */
function setCustomer(method: PaymentMethodRecord, customer: string | null): SqlFragment {
  const next = { ...method, customer, version: method.version + 1 };
  return sql`UPDATE vault.payment_methods SET customer_id = ${customer}, version = ${next.version}, state = ${JSON.stringify(next)}::jsonb
    WHERE merchant_id = ${method.merchant_id} AND id = ${method.id} AND version = ${method.version}`;
}
