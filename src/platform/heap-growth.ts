import v8 from 'node:v8';
import { assert } from '../kernel/assert.js';

/**
 * How far V8 lets old space grow past what the last full collection kept, before the next one.
 * Payrail's live heap under load is about 50 MB; on a machine with gigabytes free V8 grows old space
 * up to 4 × that first, so a loaded API process swung between 230 and 310 MB resident for garbage
 * alone. At 50 % it stays under 200 MB, for a full collection every second or two at the bench's load
 * and 3 to 7 % more CPU per payment in the API process (docs/operations.md, "Memory").
 */
export const DEFAULT_HEAP_GROWTH_PERCENT = 50;
/** A factor of 5: past V8's own largest (4), so any higher setting means nothing. */
export const HEAP_GROWTH_PERCENT_MAX = 400;

/** 0 leaves V8's own heuristic (grows by 1.1 to 4 × with the memory the machine has). */
export function limitHeapGrowth(percent: number): void {
  assert(Number.isInteger(percent) && percent >= 0 && percent <= HEAP_GROWTH_PERCENT_MAX, `heap growth percent ${percent} out of range`);
  if (percent > 0) v8.setFlagsFromString(`--heap-growing-percent=${percent}`);
}
