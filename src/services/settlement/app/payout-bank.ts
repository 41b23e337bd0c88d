import type { Db } from '../../../platform/db.js';
import { run, sql } from '../../../platform/db.js';
import type { OperationContext, Outcome } from '../../../platform/write/operation.js';
import type { WriteDeps } from '../../../platform/write/pipeline.js';
import { execute } from '../../../platform/write/pipeline.js';
import type { Logger } from '../../../platform/logger.js';
import { PayrailError } from '../../../kernel/errors.js';
import { outboxInsert } from '../../events/index.js';
import type { EventDraft } from '../../events/index.js';
import { transferWrites } from '../../ledger/index.js';
import type { SecretSealer } from '../../vault/index.js';
import type { Payout, PayoutEnd } from '../domain/payout.js';
import { endPayout, payoutEndTransfer, renderPayout } from '../domain/payout.js';
import type { BankAnswer, BankRail } from '../domain/bank-port.js';
import { getBankAccount, getPayout, sealedNumberOf, updatePayout } from '../adapters/payout-store.js';
import { sealingContext } from './bank-accounts.js';
import { forEachLimited } from './limited.js';

/**
 * A payout's way through the bank, outside any HTTP request. Each step is its own use case through
 * the write pipeline; the bank is called between them with nothing held:
 *
 *   1. pending → in_transit, committed (with `payout.updated`) before the bank hears of it;
 *   2. the bank is asked to pay (idempotent by payout id: asked again, it answers the same);
 *   3. in_transit → paid or failed, with the ledger transfer and events, under a version guard.
 *
 * A crash anywhere leaves the payout pending or in_transit, and the next worker run takes it up
 * again from that state: step 2 then gets the bank's first answer back, so nothing is paid twice.
 */

export const PAYOUT_BANK_JOB = 'payout-bank';
export const PAYOUT_BANK_INTERVAL_MS = 1_000;
/** Payouts one worker run takes to the bank at most; the rest wait for the next run. */
export const PAYOUT_BANK_BATCH_MAX = 500;
/** Payouts taken to the bank side by side (each waits on the bank with nothing held). */
export const PAYOUT_BANK_CONCURRENCY = 4;

export interface PayoutBankDeps {
  write: WriteDeps;
  /** The system role: finds payouts in flight across merchants, reads the sealed number to pay. */
  system: Db;
  bank: BankRail;
  sealer: SecretSealer;
  logger: Logger;
}

/** Takes every payout still pending or in transit through the bank, oldest first. Returns how many ended. */
export async function processPayoutsInFlight(deps: PayoutBankDeps, limit = PAYOUT_BANK_BATCH_MAX): Promise<number> {
  const due = await run<{ merchant_id: string; id: string }>(
    deps.system,
    sql`SELECT merchant_id, id FROM settlement.payouts WHERE status IN ('pending', 'in_transit') ORDER BY created, id LIMIT ${limit}`,
  );
  let ended = 0;
  await forEachLimited(due.rows, PAYOUT_BANK_CONCURRENCY, async (row) => {
    try {
      if (await takeToBank(deps, row.merchant_id, row.id)) ended += 1;
    } catch (error) {
      // One payout's trouble (a lost race with a cancel, a bank outage) must not hold up the others.
      deps.logger.warn({ err: error, payout: row.id, merchant: row.merchant_id }, 'payout: bank step failed; retried on the next run');
    }
  });
  return ended;
}

async function takeToBank(deps: PayoutBankDeps, merchant_id: string, payout_id: string): Promise<boolean> {
  const started = await step(deps, merchant_id, (ctx) => startTransit(ctx, payout_id));
  if (started.status !== 'in_transit') return false;
  const answer = await askBank(deps, started);
  const ended = await step(deps, merchant_id, (ctx) => finishPayout(ctx, payout_id, answer));
  return ended.status === 'paid' || ended.status === 'failed';
}

async function step(deps: PayoutBankDeps, merchant_id: string, run_step: (ctx: OperationContext) => Promise<Outcome>): Promise<Payout> {
  const result = await execute(deps.write, { merchant_id, request_id: null }, { reserves: [], run: run_step }, undefined);
  const body = JSON.parse(result.response.body) as Record<string, unknown>;
  if (result.response.status !== 200) throw new Error(`payout step failed: ${JSON.stringify(body).slice(0, 300)}`);
  return { ...(body as unknown as Payout) };
}

/** The bank's answer; a bank account deleted since the payout was made is Stripe's `no_account`. */
async function askBank(deps: PayoutBankDeps, payout: Payout): Promise<BankAnswer> {
  const sealed = await sealedNumberOf(deps.system, payout.merchant_id, payout.destination);
  if (!sealed) return { status: 'failed', failure_code: 'no_account' };
  const account = await getBankAccount(deps.system, payout.merchant_id, payout.destination);
  const account_number = await deps.sealer.open(sealed, sealingContext(payout.merchant_id, payout.destination));
  return deps.bank.send({
    payout_id: payout.id,
    merchant_id: payout.merchant_id,
    amount: payout.amount,
    currency: payout.currency,
    routing_number: account.routing_number,
    account_number,
  });
}

/** Step 1: pending → in_transit. A payout already past pending is answered as it is. */
export async function startTransit(ctx: OperationContext, id: string): Promise<Outcome> {
  const before = await getPayout(ctx.reader, ctx.merchant_id, id);
  if (before.status !== 'pending') return { ok: before as unknown as Record<string, unknown> };
  const after: Payout = { ...before, status: 'in_transit', version: before.version + 1 };
  const event = outboxInsert(ctx.ids, ctx.merchant_id, ctx.now_s, ctx.request, [
    { type: 'payout.updated', object: renderPayout(after) as { id: string }, previous_attributes: { status: 'pending' } },
  ]);
  await ctx.commit([updatePayout(before, after), event], { ok: after as unknown as Record<string, unknown> });
  return { ok: after as unknown as Record<string, unknown> };
}

/** Step 3: in_transit → the bank's answer. Only an in-transit payout ends here; any other is left as it is. */
export async function finishPayout(ctx: OperationContext, id: string, answer: BankAnswer): Promise<Outcome> {
  const before = await getPayout(ctx.reader, ctx.merchant_id, id);
  if (before.status !== 'in_transit') return { ok: before as unknown as Record<string, unknown> };
  const after = await endWith(ctx, before, answer);
  return { ok: after as unknown as Record<string, unknown> };
}

/** `POST /v1/payouts/:id/cancel`: only a pending payout (not yet sent to the bank) can be canceled. */
export async function cancelPayout(ctx: OperationContext, id: string): Promise<Outcome> {
  const before = await getPayout(ctx.reader, ctx.merchant_id, id);
  if (before.status !== 'pending')
    throw new PayrailError('parameter_invalid', {
      param: 'id',
      message: `Payout ${before.id} cannot be canceled: it is ${before.status}, and only pending payouts can be canceled.`,
    });
  const after = await endWith(ctx, before, { status: 'canceled' });
  return { ok: renderPayout(after) };
}

/** The event each end adds to `payout.updated`. */
const END_EVENTS = { paid: { type: 'payout.paid' }, failed: { type: 'payout.failed' }, canceled: { type: 'payout.canceled' } } as const;

/** The payout's end, its ledger transfer and its events (`payout.updated` and `payout.<status>`), in one statement. */
async function endWith(ctx: OperationContext, before: Payout, end: PayoutEnd): Promise<Payout> {
  const after = endPayout(before, end);
  const rendered = renderPayout(after) as { id: string };
  const previous_attributes: Record<string, unknown> = { status: before.status };
  if (after.failure_code !== null) Object.assign(previous_attributes, { failure_code: null, failure_message: null, failure_balance_transaction: null });
  const events: EventDraft[] = [
    { type: 'payout.updated', object: rendered, previous_attributes },
    { type: END_EVENTS[end.status].type, object: rendered },
  ];
  const outbox = outboxInsert(ctx.ids, ctx.merchant_id, ctx.now_s, ctx.request, events);
  const transfer = transferWrites(payoutEndTransfer(before, end, ctx.now_s, ctx.request.id ?? `${before.id}:${end.status}`));
  const outcome = end.status === 'canceled' ? renderPayout(after) : (after as unknown as Record<string, unknown>);
  await ctx.commit([updatePayout(before, after), outbox, ...transfer], { ok: outcome });
  return after;
}
