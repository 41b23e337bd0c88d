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
