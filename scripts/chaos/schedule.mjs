/**
 * The chaos suite's fault schedule: which component is killed when, and for how long it stays down.
 * A pure function of the seed, so `--seed N` replays the same schedule.
 */

/** The kinds of component the suite kills, each once per run, in a seeded order. */
export const FAULT_KINDS = ['api-replica', 'vault', 'relay-leader', 'ledger-poster', 'webhook-sender', 'nats-node', 'redis'];

/** Each fault needs room for the kill, the downtime, the restart and a recovery before the next one. */
export const SLOT_MIN_S = 5;
const DOWN_MIN_S = 0.5;
const DOWN_MAX_S = 2.5;

/** mulberry32: a small, well-known seeded generator; Math.random cannot be seeded. */
export function seededRandom(seed) {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

/**
 * One fault per kind, in a seeded order, each at a seeded moment in the first half of its own slot of
 * the run (so the restart and recovery fit before the next fault), down for a seeded 0.5-2.5 s.
 */
export function faultSchedule(seed, duration_s, kinds = FAULT_KINDS) {
  const slot_s = duration_s / kinds.length;
  if (slot_s < SLOT_MIN_S) throw new Error(`--duration must be at least ${SLOT_MIN_S * kinds.length} s for ${kinds.length} faults`);
  const random = seededRandom(seed);
  const order = [...kinds];
  for (let i = order.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [order[i], order[j]] = [order[j], order[i]];
  }
  return order.map((kind, index) => ({
    kind,
    at_s: round(index * slot_s + random() * slot_s * 0.4),
    down_s: round(DOWN_MIN_S + random() * (DOWN_MAX_S - DOWN_MIN_S)),
    pick: random(),
  }));
}

function round(seconds) {
  return Math.round(seconds * 100) / 100;
}
