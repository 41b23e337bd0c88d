import { createReadStream } from 'node:fs';
import { createPool } from '../../src/platform/db.js';
import { systemClock } from '../../src/kernel/clock.js';
import { importSettlementReport } from '../../src/services/settlement/index.js';

/**
 * A settlement import that SIGKILLs its own process at one point (test/e2e/settlement-crash.test.ts):
 * `mid_stage` as the second chunk of lines is staged (the report half read, still `staging`);
 * `after_stage` as the first posting chunk starts (the report staged, nothing posted);
 * `mid_chunk` as the second chunk records its lines' outcomes (its transfers written, not committed).
 */
const url = process.env.SETTLEMENT_CRASH_URL ?? '';
const file = process.env.SETTLEMENT_CRASH_FILE ?? '';
const at = process.env.SETTLEMENT_CRASH_AT;
if (at !== 'mid_stage' && at !== 'after_stage' && at !== 'mid_chunk') throw new Error('SETTLEMENT_CRASH_AT must be mid_stage, after_stage or mid_chunk');
const MARKERS = {
  mid_stage: 'INSERT INTO settlement.report_lines',
  after_stage: 'ORDER BY line LIMIT',
  mid_chunk: 'UPDATE settlement.report_lines l SET outcome',
};
const marker = MARKERS[at];
const kill_on = at === 'after_stage' ? 1 : 2;

const pool = createPool(url, 2);
let seen = 0;
const dying = new Proxy(pool, {
  get(target, prop) {
    if (prop !== 'connect') {
      const value: unknown = Reflect.get(target, prop);
      return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
    }
    return async () => {
      const client = await target.connect();
      const query = client.query.bind(client) as (...args: unknown[]) => unknown;
      return new Proxy(client, {
        get(object, name) {
          if (name !== 'query') {
            const value: unknown = Reflect.get(object, name);
            return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(object) : value;
          }
          return (text: unknown, ...rest: unknown[]) => {
            const statement = typeof text === 'string' ? text : ((text as { text?: string }).text ?? '');
            if (statement.includes(marker) && ++seen === kill_on) process.kill(process.pid, 'SIGKILL');
            return query(text, ...rest);
          };
        },
      });
    };
  },
});

await importSettlementReport({ pool: dying, clock: systemClock }, 'sandbox', createReadStream(file, 'utf8') as AsyncIterable<string>);
process.stderr.write('settlement-crash-child: the import finished without being killed\n');
process.exit(3);
