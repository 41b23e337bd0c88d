import { ManualClock } from '../../../kernel/clock.js';
import { EmbeddedWindowStore } from '../adapters/embedded-window-store.js';
import { ipCountry } from '../adapters/ip-country.js';
import { EventIds, readFeatures, writeAttempt } from '../app/attempt-windows.js';
import type { SyntheticTransaction } from './synthetic.js';

/**
 * Raw transactions → feature rows, through the scorer's own reading and writing of the windows
 * (app/attempt-windows.ts) on an embedded store, in time order: each row sees only what came before
 * it, as the server would have.
 */
export interface FeatureRows {
  rows: Float64Array[];
  labels: Uint8Array;
  created_ms: number[];
  patterns: string[];
}

export async function replayFeatures(transactions: readonly SyntheticTransaction[], skip_before_ms = -Infinity): Promise<FeatureRows> {
  const clock = new ManualClock(transactions[0]?.created_ms ?? 0);
  const store = new EmbeddedWindowStore(Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER);
  const ids = new EventIds('replay', clock);
  const out: FeatureRows = { rows: [], labels: new Uint8Array(0), created_ms: [], patterns: [] };
  const labels: number[] = [];
  for (const transaction of transactions) {
    clock.advance(transaction.created_ms - clock.now_ms());
    const ip_country = ipCountry(transaction.signals.ip_address);
    const features = await readFeatures(store, transaction.signals, ip_country, clock.now_ms());
    await writeAttempt(store, transaction.signals, ip_country, transaction.result, clock.now_ms(), ids.next());
    if (transaction.created_ms < skip_before_ms) continue;
    out.rows.push(features.vector);
    labels.push(transaction.fraud ? 1 : 0);
    out.created_ms.push(transaction.created_ms);
    out.patterns.push(transaction.pattern);
  }
  out.labels = Uint8Array.from(labels);
  return out;
}
