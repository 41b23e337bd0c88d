import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { Invoice } from '../../src/services/billing/domain/invoice.js';
import { finalize } from '../../src/services/billing/domain/invoice.js';
import { invoiceDocument } from '../../src/services/billing/domain/invoice-document.js';
import { renderInvoicePdf } from '../../src/services/billing/adapters/invoice-pdf.js';

/**
 * The invoice PDF, checked as a reader would see it: Debian's poppler-utils (`pdftoppm`, `pdftotext`,
 * installed by .ci/run) turn it into an image and into text. The image must have ink where the title,
 * the lines and the totals are and none below them; the text must carry the number, the total and
 * every line's description. `PAYRAIL_WRITE_INVOICE_PNG=1` also writes the image kept in docs/.
 */

const NOW = Date.UTC(2026, 2, 1) / 1000;
const dir = mkdtempSync(join(tmpdir(), 'payrail-invoice-pdf-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const LINES: [string, number, number][] = [
  ['Pro plan (monthly)', 1, 4900],
  ['Extra seats', 3, 2700],
  ['Onboarding call', 1, 15000],
];

function sampleInvoice(): Invoice {
  const draft: Invoice = {
    id: 'in_sample',
    merchant_id: 'acct_1',
    customer: 'cus_1',
    currency: 'usd',
    status: 'draft',
    number: null,
    auto_advance: true,
    collection_method: 'send_invoice',
    days_until_due: 30,
    due_date: null,
    default_payment_method: null,
    description: 'Thank you for your business.',
    footer: 'Payrail Example Ltd · 1 Example Street · Springfield',
    metadata: {},
    subscription: null,
    billing_reason: 'manual',
    period_start: NOW,
    period_end: NOW,
    lines: LINES.map(([description, quantity, amount], i) => ({
      id: `il_${i}`,
      type: 'invoiceitem',
      amount,
      currency: 'usd',
      description,
      invoice_item: `ii_${i}`,
      price: null,
      price_object: null,
      quantity,
      period: { start: NOW, end: NOW + 30 * 86_400 },
      proration: false,
      subscription: null,
      subscription_item: null,
      metadata: {},
    })),
    amount_paid: 0,
    attempt_count: 0,
    attempted: false,
    paid_out_of_band: false,
    payment_intent: null,
    charge: null,
    next_payment_attempt: null,
    status_transitions: { finalized_at: null, paid_at: null, voided_at: null, marked_uncollectible_at: null },
    customer_email: 'ada@example.com',
    customer_name: 'Ada Lovelace',
    test_clock: null,
    page_secret: 'secret',
    created: NOW,
    version: 1,
  };
  return finalize(draft, 'A1B2C3D4-0042', NOW);
}

/** A grey-scale raster (pdftoppm -gray: binary PGM, "P5 width height 255\n" then one byte a pixel). */
interface Raster {
  width: number;
  height: number;
  pixels: Buffer;
}

function readPgm(path: string): Raster {
  const data = readFileSync(path);
  const header = /^P5\s+(\d+)\s+(\d+)\s+255\s/.exec(data.subarray(0, 40).toString('latin1'));
  if (!header) throw new Error('not a binary PGM');
  const width = Number(header[1]);
  const height = Number(header[2]);
  return { width, height, pixels: data.subarray(header[0].length) };
}

/** Share of dark pixels (ink) in a band of the page, as fractions of its height and width. */
function ink(raster: Raster, band: { top: number; bottom: number; left?: number; right?: number }): number {
  const [y0, y1] = [Math.floor(band.top * raster.height), Math.floor(band.bottom * raster.height)];
  const [x0, x1] = [Math.floor((band.left ?? 0) * raster.width), Math.floor((band.right ?? 1) * raster.width)];
  let dark = 0;
  for (let y = y0; y < y1; y++) for (let x = x0; x < x1; x++) if ((raster.pixels[y * raster.width + x] ?? 255) < 128) dark++;
  return dark / ((y1 - y0) * (x1 - x0));
}

describe('the invoice PDF', () => {
  it('reads as the invoice: number, lines and totals in its text, ink where they are and none below', async () => {
    const invoice = sampleInvoice();
    const pdf = await renderInvoicePdf(invoiceDocument(invoice), new Date(NOW * 1000));
    const path = join(dir, 'invoice.pdf');
    writeFileSync(path, pdf);

    const text = execFileSync('pdftotext', ['-layout', path, '-'], { encoding: 'utf8' });
    expect(text).toContain('A1B2C3D4-0042');
    for (const [description] of LINES) expect(text).toContain(description);
    expect(text).toMatch(/Total\s+226\.00 USD/);
    expect(text).toContain('27.00 USD');
    expect(text).toContain('Ada Lovelace');
    expect(text).toContain('Date due: 2026-03-31');

    execFileSync('pdftoppm', ['-gray', '-r', '50', '-singlefile', path, join(dir, 'page')]);
    const page = readPgm(join(dir, 'page.pgm'));
    expect(page.width).toBeGreaterThan(page.height * 0.6);
    // Title top left, the "Bill to" block top right, the lines' table, the totals on the right, blank below.
    expect(ink(page, { top: 0.05, bottom: 0.1, left: 0.05, right: 0.4 })).toBeGreaterThan(0.02);
    expect(ink(page, { top: 0.1, bottom: 0.17, left: 0.52, right: 0.95 })).toBeGreaterThan(0.005);
    expect(ink(page, { top: 0.3, bottom: 0.38, left: 0.05, right: 0.95 })).toBeGreaterThan(0.01);
    expect(ink(page, { top: 0.38, bottom: 0.48, left: 0.5, right: 0.95 })).toBeGreaterThan(0.01);
    expect(ink(page, { top: 0.55, bottom: 0.85 })).toBe(0);

    if (process.env.PAYRAIL_WRITE_INVOICE_PNG === '1') {
      execFileSync('pdftoppm', ['-png', '-r', '60', '-singlefile', path, 'docs/invoice-example']);
    }
  });

  it('renders the same bytes for the same invoice, and pages a long one', async () => {
    const invoice = sampleInvoice();
    const [a, b] = await Promise.all([0, 1].map(() => renderInvoicePdf(invoiceDocument(invoice), new Date(NOW * 1000))));
    expect(a?.equals(b!)).toBe(true);
    const long = { ...invoice, lines: Array.from({ length: 120 }, (_, i) => ({ ...invoice.lines[0]!, id: `il_${i}`, description: `Line ${i}` })) };
    const path = join(dir, 'long.pdf');
    writeFileSync(path, await renderInvoicePdf(invoiceDocument(long), new Date(NOW * 1000)));
    const info = execFileSync('pdfinfo', [path], { encoding: 'utf8' });
    expect(Number(/Pages:\s+(\d+)/.exec(info)?.[1])).toBeGreaterThan(2);
    const text = execFileSync('pdftotext', [path, '-'], { encoding: 'utf8' });
    expect(text).toContain('Line 0');
    expect(text).toContain('Line 119');
  });
});
