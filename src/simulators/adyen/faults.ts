/**
 * Fault injection for the Adyen simulator, set per run (CLI flags, POST /_simulator/faults) or per test
 * (`simulator.faults`): added latency, 5xx answers, answers that never come after the payment was made,
 * dropped connections, and notifications duplicated, reordered or delayed. Faults are either queued for
 * the next matching calls (exact, for tests) or drawn at a rate from a seeded generator (for soaks), so a
 * run is reproducible.
 */
import { z } from 'zod';

export const FAULT_KINDS = [
  /** A 5xx before anything is processed: nothing happened, a retry with the same key processes it. */
  'error_before',
  /** The request is processed (a payment exists), then a 5xx is answered instead of the result. */
  'error_after',
  /** The request is processed, and the answer never comes: the connection is held until the client gives up. */
  'timeout_after',
  /** The connection is dropped before processing. */
  'drop_before',
  /** The request is processed, then the connection is dropped with no answer. */
  'drop_after',
] as const;
export type FaultKind = (typeof FAULT_KINDS)[number];

export const ENDPOINTS = ['payments', 'details', 'captures', 'refunds', 'cancels', 'technical_cancels'] as const;
export type Endpoint = (typeof ENDPOINTS)[number];

const RATE_MAX = 1;
const QUEUE_MAX = 1_000;
const LATENCY_MAX_MS = 60_000;

export const faultSettingsSchema = z.strictObject({
  latency_ms: z.number().int().min(0).max(LATENCY_MAX_MS).optional(),
  /** Consumed in order: each applies to the next call of its endpoint (or of any endpoint). */
  next: z
    .array(
      z.strictObject({
        endpoint: z.enum([...ENDPOINTS, 'any']).default('any'),
        kind: z.enum(FAULT_KINDS),
        status: z.number().int().min(500).max(599).default(500),
      }),
    )
    .max(QUEUE_MAX)
    .optional(),
  /** Probability per call of each fault kind, drawn from the seeded generator. */
  rates: z.partialRecord(z.enum(FAULT_KINDS), z.number().min(0).max(RATE_MAX)).optional(),
  notifications: z
    .strictObject({
      /** Every notification is delivered twice. */
      duplicate: z.boolean().default(false),
      /** Among notifications due together, the newest goes first. */
      out_of_order: z.boolean().default(false),
      /** Held this long before the first delivery. */
      delay_ms: z.number().int().min(0).max(LATENCY_MAX_MS).default(0),
    })
    .optional(),
});
export type FaultSettings = z.input<typeof faultSettingsSchema>;

export interface InjectedFault {
  kind: FaultKind;
  status: number;
}

/** mulberry32: a small seeded generator, so a soak's faults are the same on every run with one seed. */
function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

export class FaultPlan {
  latency_ms = 0;
  notifications = { duplicate: false, out_of_order: false, delay_ms: 0 };
  private queue: Array<{ endpoint: Endpoint | 'any'; kind: FaultKind; status: number }> = [];
  private rates: Partial<Record<FaultKind, number>> = {};
  private readonly random: () => number;

  constructor(seed = 1) {
    this.random = seededRandom(seed);
  }

  /** Replaces the settings given; the ones left out stay as they are. */
  set(settings: FaultSettings): void {
    const parsed = faultSettingsSchema.parse(settings);
    if (parsed.latency_ms !== undefined) this.latency_ms = parsed.latency_ms;
    if (parsed.next !== undefined) this.queue = [...parsed.next];
    if (parsed.rates !== undefined) this.rates = { ...parsed.rates };
    if (parsed.notifications !== undefined) this.notifications = { ...parsed.notifications };
  }

  clear(): void {
    this.set({ latency_ms: 0, next: [], rates: {}, notifications: {} });
  }

  /** The fault for this call, if any: a queued one first, else one drawn at its rate. */
  take(endpoint: Endpoint): InjectedFault | null {
    const index = this.queue.findIndex((fault) => fault.endpoint === endpoint || fault.endpoint === 'any');
    if (index >= 0) {
      const [fault] = this.queue.splice(index, 1);
      return fault ? { kind: fault.kind, status: fault.status } : null;
    }
    for (const kind of FAULT_KINDS) {
      const rate = this.rates[kind] ?? 0;
      if (rate > 0 && this.random() < rate) return { kind, status: 500 };
    }
    return null;
  }
}
