// Several rounds of the same scenarios, summarised by medians: on a machine whose speed wanders from
// one minute to the next (a shared host), one run's before/after or baseline ratio can swing by a
// fifth; the median of interleaved rounds does not.
import { formatNumber } from './lib.mjs';

/** Rounds a run may have: each repeats every scenario, so more is a long run by mistake. */
export const ROUNDS_MAX = 9;

/**
 * The rounds' results as one: every number the median of that number across the rounds (the middle
 * one; the mean of the two middle ones for an even count), everything else as the last round has it.
 */
export function medianResults(rounds) {
  if (rounds.length === 1) return rounds[0];
  return medianOf(rounds);
}

function medianOf(values) {
  const last = values.at(-1);
  if (values.every((value) => typeof value === 'number')) return median(values);
  if (last === null || typeof last !== 'object' || Array.isArray(last)) return last;
  const merged = {};
  for (const key of Object.keys(last)) merged[key] = medianOf(values.map((value) => value?.[key]));
  return merged;
}

function median(numbers) {
  const sorted = [...numbers].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

/**
 * Each round's throughput of the named scenarios, and its ratio to that round's baseline: how far the
 * figures wandered, shown beside the medians the other blocks use.
 */
export function spreadRows(rounds, names) {
  const rows = [];
  for (const name of names) {
    if (!rounds.every((results) => results[name])) continue;
    const per_round = rounds.map((results) => {
      const per_s = results[name].requests_per_s;
      const base = results.baseline?.requests_per_s;
      return base ? `${formatNumber(per_s, 0)} (×${formatNumber(per_s / base, 2)})` : formatNumber(per_s, 0);
    });
    rows.push([name, per_round.join(', ')]);
  }
  const baselines = rounds.map((results) => results.baseline?.requests_per_s).filter((value) => value !== undefined);
  if (baselines.length === rounds.length) rows.unshift(['baseline', baselines.map((value) => formatNumber(value, 0)).join(', ')]);
  return rows;
}
