import { createHash } from 'node:crypto';
import type { InvoiceDocument } from '../domain/invoice-document.js';

/**
 * The hosted invoice page: server-rendered HTML, every value escaped, no script at all. Its one
 * stylesheet is inline and allowed by its hash in the page's Content-Security-Policy.
 */

const STYLE = `body{font-family:system-ui,sans-serif;margin:0;background:#f6f8fa;color:#111}
main{max-width:720px;margin:2rem auto;background:#fff;padding:2rem;border-radius:8px;box-shadow:0 1px 3px #0002}
h1{margin:0 0 .25rem}.status{font-weight:600}.due{font-size:1.4rem;margin:1.5rem 0}
table{width:100%;border-collapse:collapse;margin:1rem 0}th,td{text-align:left;padding:.4rem;border-bottom:1px solid #ddd}
td.amount,th.amount{text-align:right}dl{display:grid;grid-template-columns:1fr auto;gap:.25rem 1rem;max-width:320px;margin-left:auto}
dt{color:#555}dd{margin:0;text-align:right}.total{font-weight:700}footer{margin-top:2rem;color:#555;font-size:.9rem}`;

export const INVOICE_PAGE_CSP = `default-src 'none'; style-src 'sha256-${createHash('sha256').update(STYLE).digest('base64')}'; img-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'`;

const ENTITIES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (char) => ENTITIES[char] ?? char);
}

export function invoicePage(document: InvoiceDocument, pdf_url: string, payable: boolean): string {
  const e = escapeHtml;
  const rows = document.lines
    .map((line) => `<tr><td>${e(line.description)}</td><td>${e(line.period)}</td><td>${e(line.quantity)}</td><td class="amount">${e(line.amount)}</td></tr>`)
    .join('\n');
  const billed = document.bill_to.map((line) => `${e(line)}<br>`).join('');
  const due = document.due ? `<p>Due ${e(document.due)}</p>` : '';
  const pay = payable ? '<p>This invoice is collected by the merchant with the payment method on file; contact them to pay another way.</p>' : '';
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${e(document.title)} ${e(document.number)}</title>
<style>${STYLE}</style>
</head>
<body>
<main>
  <h1>${e(document.title)} ${e(document.number)}</h1>
  <p class="status">${e(document.status)}</p>
  <p>Issued ${e(document.issued)}</p>
  ${due}
  <p>Billed to<br>${billed || '—'}</p>
  <p class="due">${e(document.amount_remaining)} remaining</p>
  ${pay}
  <table>
    <thead><tr><th>Description</th><th>Period</th><th>Qty</th><th class="amount">Amount</th></tr></thead>
    <tbody>
${rows}
    </tbody>
  </table>
  <dl>
    <dt>Subtotal</dt><dd>${e(document.subtotal)}</dd>
    <dt class="total">Total</dt><dd class="total">${e(document.total)}</dd>
    <dt>Amount paid</dt><dd>${e(document.amount_paid)}</dd>
    <dt class="total">Amount remaining</dt><dd class="total">${e(document.amount_remaining)}</dd>
  </dl>
  ${document.description ? `<p>${e(document.description)}</p>` : ''}
  <p><a href="${e(pdf_url)}">Download the PDF</a></p>
  ${document.footer ? `<footer>${e(document.footer)}</footer>` : ''}
</main>
</body>
</html>
`;
}
