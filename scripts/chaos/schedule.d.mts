/** Types of scripts/chaos/schedule.mjs, for the tests that import it. */
export interface PlannedFault {
  kind: string;
  at_s: number;
  down_s: number;
  pick: number;
}
export const FAULT_KINDS: string[];
export const SLOT_MIN_S: number;
export function seededRandom(seed: number): () => number;
export function faultSchedule(seed: number, duration_s: number, kinds?: string[]): PlannedFault[];
