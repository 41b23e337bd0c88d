import { describe, expect, it } from 'vitest';
import { SortedWindow } from '../../src/services/risk/adapters/sorted-window.js';
import { Random } from '../../src/services/risk/training/random.js';

/**
 * The embedded store's window against the plainest model of a Redis sorted set (a member map walked
 * on every question), over sequences long enough to fill the window past its cap many times, so the
 * start index wraps through several compactions; with ties in time, first-seen members and members
 * moved to a later time. The Redis equivalence test (risk-window-store.test.ts) checks the store as a
 * whole against Redis itself; this one reaches the compaction that a short Redis sequence does not.
 */
class WalkedWindow {
  readonly at = new Map<string, number>();
  add(member: string, now_ms: number, keep_first: boolean): void {
    if (!(keep_first && this.at.has(member))) this.at.set(member, now_ms);
  }
  dropUntil(until_ms: number): void {
    for (const [member, at] of this.at) if (at <= until_ms) this.at.delete(member);
  }
  trimTo(max: number): void {
    const ordered = [...this.at].sort(([ma, a], [mb, b]) => a - b || (ma < mb ? -1 : ma > mb ? 1 : 0));
    for (const [member] of ordered.slice(0, Math.max(0, ordered.length - max))) this.at.delete(member);
  }
  countAfter(since_ms: number): number {
    return [...this.at.values()].filter((at) => at > since_ms).length;
  }
}

const CAP = 64;
const TTL_MS = 5_000;

describe('a sorted window', () => {
  it.each([1, 2, 3])('answers as a walked member map over a long random sequence (seed %i)', (seed) => {
    const random = new Random(seed);
    const sorted = new SortedWindow();
    const walked = new WalkedWindow();
    let now = 1_000_000;
    let dropped_by_cap = 0;
    for (let step = 0; step < 6_000; step += 1) {
      now += random.pick([0, 0, 1, 3, 40, 400]);
      const member = random.int(4) === 0 ? `repeat-${random.int(12)}` : `event-${step}`;
      const keep_first = random.int(6) === 0;
      for (const window of [sorted, walked]) {
        window.dropUntil(now - TTL_MS);
        window.add(member, now, keep_first);
      }
      const before_trim = walked.at.size;
      for (const window of [sorted, walked]) window.trimTo(CAP);
      dropped_by_cap += before_trim - walked.at.size;
      expect(sorted.size).toBe(walked.at.size);
      for (const since of [now - TTL_MS, now - 700, now - 50, now - 1, now]) expect(sorted.countAfter(since)).toBe(walked.countAfter(since));
      const probe = random.int(2) === 0 ? member : `repeat-${random.int(12)}`;
      expect(sorted.timeOf(probe)).toBe(walked.at.get(probe));
    }
    expect(dropped_by_cap).toBeGreaterThan(10 * CAP); // the cap, not only the ttl, emptied the front
  });
});
