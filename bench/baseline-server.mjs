// The baseline: the least a Fastify + pg server can do per payment-like request, one INSERT.
// Usage: node bench/baseline-server.mjs <port>   (env: DATABASE_URL, BENCH_BASELINE_TABLE, BENCH_DB_POOL_MAX)
// Serves GET /healthz and POST /payments; prints "ready" once listening.
import Fastify from 'fastify';
import pg from 'pg';

const HOST = '127.0.0.1';
const DEFAULT_POOL_MAX = 20;
const TABLE_PATTERN = /^[a-z_][a-z0-9_]*$/;

const port = Number(process.argv[2] ?? process.env.PORT);
const table = process.env.BENCH_BASELINE_TABLE ?? 'bench_baseline';
if (!Number.isInteger(port) || port <= 0) throw new Error('usage: baseline-server.mjs <port>');
if (!TABLE_PATTERN.test(table)) throw new Error(`bad table name ${table}`);
if (!process.env.DATABASE_URL) throw new Error('DATABASE_URL is required');

const pool = new pg.Pool({
  connectionString: process.env.DATABASE_URL,
  max: Number(process.env.BENCH_DB_POOL_MAX ?? DEFAULT_POOL_MAX),
  application_name: 'payrail-bench-baseline',
});
pool.on('error', () => {});

const app = Fastify({ logger: false });
app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string' }, (_request, body, done) => {
  done(null, Object.fromEntries(new URLSearchParams(body)));
});

app.get('/healthz', async () => ({ status: 'ok' }));
app.post('/payments', async (request) => {
  const { amount, currency } = request.body ?? {};
  const result = await pool.query(`INSERT INTO ${table} (amount, currency) VALUES ($1, $2) RETURNING id`, [Number(amount), String(currency)]);
  return { id: result.rows[0].id, amount: Number(amount), currency, status: 'succeeded' };
});

await app.listen({ port, host: HOST });
process.stdout.write('ready\n');

async function shutdown() {
  await app.close();
  await pool.end();
  process.exit(0);
}
process.on('SIGTERM', () => void shutdown());
process.on('SIGINT', () => void shutdown());
