// Reconciling a processor settlement report of BENCH_LINES lines (default 1,000,000), against a
// baseline measured in the same run: COPYing the same file into PostgreSQL.
//
// Run: DATABASE_URL=postgres://… npx vite-node bench/reconcile.mjs   (BENCH_LINES, BENCH_MERCHANTS)
//
// A fresh database (payrail_bench_reconcile_<random>, dropped at the end) gets, set up and not timed,
// one captured charge per report line (payments.charges and the ledger's capture transfer and
// postings, loaded with COPY), and the report itself: a CSV file in Adyen's Settlement details format
// with one Settled line per charge, the sandbox's fees, and a MerchantPayout per merchant. Then, timed:
//
//   1. baseline: COPY … FROM STDIN of that file (pg-copy-streams) into a table of 23 text columns:
//      reading the file once and writing every line into PostgreSQL, the fastest load there is;
//   2. parse only: the same file read into typed report lines (csv-parse, the settlement service's
//      reader), no database: the floor reconciliation's own reading cannot go below;
//   3. reconciliation (reconcileReport): the same file parsed as it streams (csv-parse), each batch of
//      5 000 lines looked up in the ledger and payments, classified, its matches written, and the
//      objects due two days before checked; one transaction, as in production.
//
// Printed: lines/s of each, their ratio, wall time, exceptions found (0: a clean report), and the peak
// RSS of the bench process during each (VmHWM, reset before each step through /proc/self/clear_refs).
import { randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import pg from 'pg';
import copyStreams from 'pg-copy-streams';
import { loadConfig } from '../src/platform/config.js';
import { openDatabase } from '../src/platform/database.js';
import { ManualClock } from '../src/kernel/clock.js';
import { UlidGenerator } from '../src/kernel/ids.js';
import { ALL_MIGRATIONS } from '../src/migrations.js';
import { sandboxCaptureFees } from '../src/services/connectors/index.js';
import { ledgerRecords } from '../src/services/payments/index.js';
import {
  SANDBOX_TERMS,
  SETTLEMENT_REPORT_COLUMNS,
  parseSettlementReport,
  reconcileReport,
  serializeSettlementReportChunks,
} from '../src/services/settlement/index.js';

const LINES = Number(process.env.BENCH_LINES ?? 1_000_000);
const MERCHANTS = Number(process.env.BENCH_MERCHANTS ?? 10);
const REPORT_DATE = '2026-11-02';
const DAY_START_MS = Date.UTC(2026, 10, 2);
const admin_url = process.env.DATABASE_URL;
if (!admin_url) throw new Error('set DATABASE_URL (a PostgreSQL the bench may create a database on)');

const name = `payrail_bench_reconcile_${randomBytes(4).toString('hex')}`;
const admin = new pg.Client({ connectionString: admin_url });
await admin.connect();
await admin.query(`CREATE DATABASE ${name}`);
const url = new URL(admin_url);
url.pathname = `/${name}`;
const work_dir = mkdtempSync(join(tmpdir(), 'payrail-bench-reconcile-'));
const report_path = join(work_dir, 'settlement-report.csv');
const config = { ...loadConfig({}), database_url: url.toString(), data_dir: work_dir, db_pool_max: 4, log_level: 'warn' };

const peakRssMb = () => Number(/VmHWM:\s+(\d+)/.exec(readFileSync('/proc/self/status', 'utf8'))?.[1] ?? 0) / 1024;
/** Resets the peak RSS to the current RSS (Linux), so each step's peak is its own. */
const resetPeakRss = () => writeFileSync('/proc/self/clear_refs', '5');
const timed = async (label, work) => {
  resetPeakRss();
  const start = performance.now();
  const result = await work();
  const seconds = (performance.now() - start) / 1000;
  return { label, seconds, per_s: LINES / seconds, peak_rss_mb: peakRssMb(), result };
};

/** Rows as CSV text for COPY, chunk by chunk. */
async function copyRows(client, table_and_columns, rows) {
  const stream = client.query(copyStreams.from(`COPY ${table_and_columns} FROM STDIN WITH (FORMAT csv)`));
  await pipeline(Readable.from(rows), stream);
}

/** The set-up's charges, in creation order over the report's day: id, merchant, amount, time. */
function* charges() {
  const clock = new ManualClock(DAY_START_MS + 3_600_000);
  // Seeded randomness: each pass over the charges (payments, ledger, report) yields the same ids.
  let state = 7;
  const ids = new UlidGenerator(clock, (n) => Uint8Array.from({ length: n }, () => (state = (state * 1_103_515_245 + 12_345) % 2_147_483_648) & 0xff));
  const step_ms = Math.max(1, Math.floor((20 * 3_600_000) / LINES));
  for (let i = 0; i < LINES; i++) {
    clock.advance(step_ms);
    yield { id: ids.next('charge'), merchant: merchantOf(i), amount: 500 + ((i * 7919) % 20_000), at_ms: clock.now_ms() };
  }
}

function merchantOf(i) {
  return `acct_bench${String(i % MERCHANTS).padStart(22, '0')}`;
}

function* chunked(source, map) {
  let text = '';
  let count = 0;
  for (const item of source) {
    text += map(item);
    if (++count % 5_000 === 0) {
      yield text;
      text = '';
    }
  }
  if (text) yield text;
}

async function seed(owner) {
  const client = await owner.connect();
  try {
    const s = (ms) => Math.floor(ms / 1000);
    await copyRows(
      client,
      'payments.charges (merchant_id, id, payment_intent_id, status, amount, amount_captured, amount_refunded, currency, created, version, state)',
      chunked(charges(), (c) => `${c.merchant},${c.id},pi_${c.id.slice(3)},succeeded,${c.amount},${c.amount},0,usd,${s(c.at_ms)},1,{}\n`),
    );
    await client.query('BEGIN');
    await copyRows(
      client,
      'ledger.transfers (merchant_id, id, currency, kind, source_id, cause_event_id, cause_type, created, available_on, net, fee)',
      chunked(
        charges(),
        (c) => `${c.merchant},txn_${c.id.slice(3)},usd,capture,${c.id},evt_bench,charge.succeeded,${s(c.at_ms)},${s(c.at_ms) + 172_800},${c.amount},0\n`,
      ),
    );
    await copyRows(
      client,
      'ledger.postings (merchant_id, transfer_id, index, currency, account, amount)',
      chunked(
        charges(),
        (c) =>
          `${c.merchant},txn_${c.id.slice(3)},0,usd,processor_receivable,${c.amount}\n${c.merchant},txn_${c.id.slice(3)},1,usd,merchant_pending,${-c.amount}\n`,
      ),
    );
    await client.query('COMMIT');
    await client.query('VACUUM ANALYZE');
  } finally {
    client.release();
  }
}

/** The processor's report: one Settled line per charge with the sandbox's fees, then each merchant's payout. */
function* reportLines() {
  const nets = new Map();
  let line = 1;
  const base = {
    company_account: 'PayrailSandbox',
    payment_method: 'card',
    time_zone: 'UTC',
    exchange_rate: '1',
    payment_method_variant: 'card',
    batch_number: 20_395,
  };
  for (const c of charges()) {
    const fees = sandboxCaptureFees(c.amount);
    const net = c.amount - (fees.interchange + fees.scheme_fees + fees.markup + fees.commission);
    nets.set(c.merchant, (nets.get(c.merchant) ?? 0) + net);
    yield {
      ...base,
      line: ++line,
      merchant_account: c.merchant,
      psp_reference: c.id,
      merchant_reference: c.id,
      creation_date: new Date(c.at_ms).toISOString().slice(0, 19).replace('T', ' '),
      type: 'Settled',
      modification_reference: c.id,
      gross_currency: 'usd',
      gross_debit: null,
      gross_credit: c.amount,
      net_currency: 'usd',
      net_debit: null,
      net_credit: net,
      ...fees,
      modification_merchant_reference: c.id,
    };
  }
  for (const [merchant, net] of [...nets].sort()) {
    yield {
      ...base,
      line: ++line,
      merchant_account: merchant,
      psp_reference: '',
      merchant_reference: '',
      creation_date: `${REPORT_DATE} 23:59:59`,
      type: 'MerchantPayout',
      modification_reference: '',
      gross_currency: '',
      gross_debit: null,
      gross_credit: null,
      net_currency: 'usd',
      net_debit: net,
      net_credit: null,
      commission: null,
      markup: null,
      scheme_fees: null,
      interchange: null,
      modification_merchant_reference: '',
    };
  }
}

try {
  const database = await openDatabase(config, ALL_MIGRATIONS);
  const owner = new pg.Pool({ connectionString: url.toString(), max: 2 });
  owner.on('error', () => {});
  const setup_start = performance.now();
  await seed(owner);
  await pipeline(Readable.from(serializeSettlementReportChunks(reportLines())), createWriteStream(report_path));
  const setup_s = (performance.now() - setup_start) / 1000;

  const columns = SETTLEMENT_REPORT_COLUMNS.map((_, i) => `c${i} text`).join(', ');
  await owner.query(`CREATE TABLE public.report_copy (${columns})`);
  const baseline = await timed('baseline: COPY the report file into PostgreSQL', async () => {
    const client = await owner.connect();
    try {
      const stream = client.query(copyStreams.from('COPY public.report_copy FROM STDIN WITH (FORMAT csv, HEADER true)'));
      await pipeline(createReadStream(report_path, { highWaterMark: 1 << 20 }), stream);
      return stream.rowCount;
    } finally {
      client.release();
    }
  });

  // Where reconciliation's time goes: reading the report alone (csv-parse and typed lines), no database.
  const parsed = await timed('parse only: the report read into typed lines', async () => {
    let count = 0;
    for await (const _line of parseSettlementReport(createReadStream(report_path, { highWaterMark: 1 << 20 }))) count++;
    return count;
  });

  const clock = new ManualClock(DAY_START_MS + 2 * 86_400_000);
  const deps = { pool: database.pool, payments: ledgerRecords, terms: SANDBOX_TERMS, ids: new UlidGenerator(clock), clock };
  const reconciled = await timed('reconciliation: parse, match, classify, record', () =>
    reconcileReport(deps, {
      report_id: `bench:${REPORT_DATE}`,
      report_date: REPORT_DATE,
      lines: parseSettlementReport(createReadStream(report_path, { highWaterMark: 1 << 20 })),
    }),
  );

  const summary = reconciled.result;
  console.log(
    `reconcile: a settlement report of ${LINES} lines (${MERCHANTS} merchants), PostgreSQL at ${url.host}; set-up ${setup_s.toFixed(0)} s (not timed)`,
  );
  for (const block of [baseline, parsed, reconciled]) {
    const ratio = block === baseline ? '' : `   ${(block.per_s / baseline.per_s).toFixed(2)}× baseline`;
    console.log(
      `  ${block.label.padEnd(50)} ${block.per_s.toFixed(0).padStart(8)} lines/s  ${block.seconds.toFixed(1).padStart(6)} s  peak RSS ${block.peak_rss_mb.toFixed(0)} MB${ratio}`,
    );
  }
  console.log(
    `  copied ${baseline.result} rows; reconciled ${summary.lines} lines: ${summary.matched} matched, ${summary.auto_fixed} auto-fixed, ${summary.open} open`,
  );
  if (summary.matched !== LINES || summary.open + summary.auto_fixed !== 0) process.exitCode = 1;
  await owner.end();
  await database.close();
} catch (error) {
  console.error('reconcile bench failed:', error);
  process.exitCode = 1;
} finally {
  await admin.query(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()`, [name]);
  await admin.query(`DROP DATABASE IF EXISTS ${name}`);
  await admin.end();
  rmSync(work_dir, { recursive: true, force: true });
}
