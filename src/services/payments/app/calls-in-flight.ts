/**
 * The processor calls this process is waiting on right now. A call journaled under this process's
 * lease and not in here has no request behind it any more: the request gave up and its write handing
 * the call to the sweeper failed (the database refused it). The sweeper then settles it as it would a
 * dead process's, instead of waiting out the live holder's ten minutes. Bounded by the requests in
 * flight; a count per id, as a retry in this process may take over its own call.
 */
const in_flight = new Map<string, number>();

export async function whileInFlight<T>(call_id: string, work: () => Promise<T>): Promise<T> {
  in_flight.set(call_id, (in_flight.get(call_id) ?? 0) + 1);
  try {
    return await work();
  } finally {
    const left = (in_flight.get(call_id) ?? 1) - 1;
    if (left === 0) in_flight.delete(call_id);
    else in_flight.set(call_id, left);
  }
}

export function callsInFlight(): string[] {
  return [...in_flight.keys()];
}

/**
 * Calls this process gave up on whose hand-over to the sweeper the database refused, by id, with when.
 * Its sweeper settles them whatever holder their row names: this process's live lease (above), or none,
 * when the call was journaled while the lease was being taken again. Without this, a call naming no
 * holder waits out the ten minutes after which even a live holder is presumed stuck. Kept no longer
 * than that (the sweeper takes such a call then anyway), and at most REFUSED_MAX, oldest out.
 */
const refused = new Map<string, number>();
const REFUSED_MAX = 10_000;

export function handOverRefused(call_id: string, now_ms: number): void {
  refused.delete(call_id);
  refused.set(call_id, now_ms);
  if (refused.size > REFUSED_MAX) refused.delete(refused.keys().next().value as string);
}

/** The refused hand-overs younger than `max_age_ms` (older ones are forgotten). */
export function refusedHandOvers(now_ms: number, max_age_ms: number): string[] {
  for (const [call_id, at_ms] of refused) {
    if (at_ms > now_ms - max_age_ms) break; // in insertion order, so the rest are younger
    refused.delete(call_id);
  }
  return [...refused.keys()];
}

/** A swept call is settled: nothing left to remember. */
export function forgetHandOver(call_id: string): void {
  refused.delete(call_id);
}
