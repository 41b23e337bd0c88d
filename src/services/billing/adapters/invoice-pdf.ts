import type { InvoiceDocument } from '../domain/invoice-document.js';

/**
 * The invoice as a PDF (A4, PDFKit's built-in Helvetica: no font files to ship). The layout is a
 * header with the number and status, who is billed, the lines as a table, then the totals. Dates in
 * the document's metadata are the invoice's own, so one invoice always renders the same bytes.
 */

const PAGE = { width: 595.28, height: 841.89, margin: 50 };
const COLUMNS = { description: 50, period: 250, quantity: 390, amount: 430, amount_width: 115 };
/** Rows that fit below the header on the first page and on each next one. */
const ROW_HEIGHT = 18;
const BOTTOM = PAGE.height - PAGE.margin - 40;

/**
 * PDFKit (with its font metrics) adds about 10 MB to a process's heap; it is loaded on the first
 * invoice PDF asked for, not by every process that serves payments.
 */
let pdfkit: Promise<PDFKit.PDFDocument> | undefined;

export async function renderInvoicePdf(document: InvoiceDocument, created_at: Date): Promise<Buffer> {
  const PDFDocument = await (pdfkit ??= import('pdfkit').then((loaded) => loaded.default));
  const pdf = new PDFDocument({
    size: 'A4',
    margin: PAGE.margin,
    info: { Title: `${document.title} ${document.number}`, Producer: 'Payrail', Creator: 'Payrail', CreationDate: created_at, ModDate: created_at },
  });
  const chunks: Buffer[] = [];
  const done = new Promise<Buffer>((resolve, reject) => {
    pdf.on('data', (chunk: Buffer) => chunks.push(chunk));
    pdf.on('end', () => resolve(Buffer.concat(chunks)));
    pdf.on('error', reject);
  });
  header(pdf, document);
  let y = table(pdf, document, 250);
  y = totals(pdf, document, y + 10);
  if (document.description)
    pdf
      .font('Helvetica')
      .fontSize(10)
      .fillColor('#333333')
      .text(document.description, PAGE.margin, y + 20, { width: 495 });
  if (document.footer) pdf.font('Helvetica').fontSize(9).fillColor('#666666').text(document.footer, PAGE.margin, BOTTOM, { width: 495 });
  pdf.end();
  return done;
}

function header(pdf: PDFKit.PDFDocument, document: InvoiceDocument): void {
  pdf.font('Helvetica-Bold').fontSize(26).fillColor('#111111').text(document.title, PAGE.margin, PAGE.margin);
  pdf.font('Helvetica').fontSize(10).fillColor('#333333');
  const facts = [`Invoice number: ${document.number}`, `Status: ${document.status}`, `Date of issue: ${document.issued}`];
  if (document.due) facts.push(`Date due: ${document.due}`);
  pdf.text(facts.join('\n'), PAGE.margin, 95);
  pdf.font('Helvetica-Bold').text('Bill to', 320, 95);
  pdf.font('Helvetica').text(document.bill_to.join('\n') || '—', 320, 110, { width: 225 });
  pdf.font('Helvetica-Bold').fontSize(16).fillColor('#111111').text(`${document.amount_due} due`, PAGE.margin, 180);
}

function table(pdf: PDFKit.PDFDocument, document: InvoiceDocument, top: number): number {
  const heading = (y: number) => {
    pdf.font('Helvetica-Bold').fontSize(9).fillColor('#555555');
    pdf.text('Description', COLUMNS.description, y).text('Period', COLUMNS.period, y).text('Qty', COLUMNS.quantity, y);
    pdf.text('Amount', COLUMNS.amount, y, { width: COLUMNS.amount_width, align: 'right' });
    pdf
      .moveTo(PAGE.margin, y + 13)
      .lineTo(PAGE.width - PAGE.margin, y + 13)
      .strokeColor('#999999')
      .stroke();
    return y + 20;
  };
  let y = heading(top);
  for (const line of document.lines) {
    if (y + ROW_HEIGHT > BOTTOM) {
      pdf.addPage();
      y = heading(PAGE.margin);
    }
    pdf.font('Helvetica').fontSize(10).fillColor('#111111');
    pdf.text(line.description, COLUMNS.description, y, { width: 195, height: ROW_HEIGHT, ellipsis: true, lineBreak: false });
    pdf.fontSize(9).text(line.period, COLUMNS.period, y, { width: 135, lineBreak: false });
    pdf.fontSize(10).text(line.quantity, COLUMNS.quantity, y, { width: 35, lineBreak: false });
    pdf.text(line.amount, COLUMNS.amount, y, { width: COLUMNS.amount_width, align: 'right', lineBreak: false });
    y += ROW_HEIGHT;
  }
  return y;
}

function totals(pdf: PDFKit.PDFDocument, document: InvoiceDocument, top: number): number {
  if (top + 5 * ROW_HEIGHT > BOTTOM) {
    pdf.addPage();
    top = PAGE.margin;
  }
  pdf
    .moveTo(300, top)
    .lineTo(PAGE.width - PAGE.margin, top)
    .strokeColor('#999999')
    .stroke();
  const rows: [string, string, boolean][] = [
    ['Subtotal', document.subtotal, false],
    ['Total', document.total, true],
    ['Amount paid', document.amount_paid, false],
    ['Amount remaining', document.amount_remaining, true],
  ];
  let y = top + 8;
  for (const [label, value, bold] of rows) {
    pdf
      .font(bold ? 'Helvetica-Bold' : 'Helvetica')
      .fontSize(10)
      .fillColor('#111111');
    pdf.text(label, 300, y, { lineBreak: false });
    pdf.text(value, COLUMNS.amount, y, { width: COLUMNS.amount_width, align: 'right', lineBreak: false });
    y += ROW_HEIGHT;
  }
  return y;
}
