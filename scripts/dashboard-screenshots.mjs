// Saves the dashboard's screenshots for the docs (docs/dashboard-*.png): a platform with a handful of
// real payments (one refunded, one declined), then each main page at laptop width.
// `npm run build && node scripts/dashboard-screenshots.mjs` (DATABASE_URL's PostgreSQL, or an embedded one).
import { openBenchServer } from '../bench/database.mjs';
import { Cleanup } from '../bench/lib.mjs';
import { SECRET_KEY, createPayment, launchChromium, signIn, startDashboardPlatform } from '../bench/dashboard-platform.mjs';

const PAYMENTS = [
  { amount: 12900, email: 'ada@example.com', metadata: { order: 'A-1001' } },
  { amount: 4500, card: 'pm_card_mastercard', email: 'grace@example.com', metadata: { order: 'A-1002' } },
  { amount: 2599, email: 'alan@example.com', metadata: { order: 'A-1003' } },
  { amount: 8800, card: 'pm_card_amex', email: 'katherine@example.com', metadata: { order: 'A-1004' } },
  { amount: 1500, card: 'pm_card_visa_chargeDeclinedInsufficientFunds', email: 'edsger@example.com', metadata: { order: 'A-1005' } },
];

async function shoot(page, url, path, ready, file) {
  await page.goto(`${url}${path}`);
  await ready(page).waitFor();
  await page.waitForLoadState('networkidle');
  await page.screenshot({ path: new URL(`../docs/${file}`, import.meta.url).pathname, fullPage: false });
  process.stdout.write(`saved docs/${file}\n`);
}

const cleanup = new Cleanup();
try {
  const server = await openBenchServer(cleanup);
  const database = await server.createDatabase();
  const { url } = await startDashboardPlatform(database, cleanup);
  const created = [];
  for (const payment of PAYMENTS) created.push(await createPayment(url, payment).catch(() => null));
  const refunded = created[0];
  await fetch(`${url}/v1/refunds`, {
    method: 'POST',
    headers: { authorization: `Bearer ${SECRET_KEY}` },
    body: new URLSearchParams({ payment_intent: refunded.id, amount: '2900' }),
  });
  const browser = await launchChromium();
  cleanup.add('close browser', () => browser.close());
  const { page } = await signIn(browser, url);
  await shoot(page, url, '/dashboard/', (p) => p.getByRole('heading', { name: 'Home' }), 'dashboard-home.png');
  await shoot(page, url, '/dashboard/payments', (p) => p.getByRole('table', { name: 'Payments' }).getByRole('link').first(), 'dashboard-payments.png');
  await shoot(page, url, `/dashboard/payments/${refunded.id}`, (p) => p.getByText('Payment created'), 'dashboard-payment.png');
  await shoot(page, url, '/dashboard/developers', (p) => p.getByRole('table', { name: 'API keys' }).getByRole('row').nth(1), 'dashboard-developers.png');
} finally {
  await cleanup.runAll();
}
