/**
 * Finding the processor's object made for a Payrail id, for a status inquiry and for the calls that
 * name it (capture, void, refund). Stripe lets a caller name nothing but metadata, so the connector
 * writes `metadata[payrail_attempt]` / `[payrail_refund]` and looks for it:
 * 1. a cache of ids this process already saw (bounded);
 * 2. Stripe's search (`/v1/payment_intents/search`), which finds old attempts in one call but is
 *    documented as lagging writes by up to a minute, so its "none" proves nothing;
 * 3. a walk of the list endpoint from the Payrail id's own creation time on (ids are time-ordered:
 *    the processor's object cannot be older than the id it was made for). Lists read what was written,
 *    so a walk that reaches the end without a match is the certain "never created" — once the id is
 *    older than `in_flight_ms`, after which no call made under it can still be running at Stripe.
 * A walk longer than its bound, or a too-young id, answers `unknown`: never "not found" unless certain.
 */
import { idTimeMs } from '../../../kernel/ids.js';
import type { Clock } from '../../../kernel/clock.js';
import { ProcessorOutcomeUnknown } from '../domain/port.js';
import type { FormParams } from '../domain/stripe-wire.js';
import { describeFailure, classifyFailure } from '../domain/stripe-failures.js';
import type { StripeAnswer, StripeTransport } from './stripe-transport.js';

/** Page size and the most pages one walk reads (Stripe's list limit is 100). */
const PAGE_SIZE = 100;
export const MAX_WALK_PAGES = 20;
/** Ids this process remembers the processor's object id for. */
const MAX_CACHED_IDS = 10_000;
/** Clocks differ: the walk starts this long before the Payrail id's time. */
const CLOCK_SKEW_S = 300;

/** The processor's object id for a Payrail id, certainly none, or cannot tell yet. */
export type Lookup = { found: true; id: string } | { found: false } | { found: 'unknown' };

interface Listed {
  id: string;
  metadata?: Record<string, string> | null;
}

/** The answer's body, or ProcessorOutcomeUnknown for anything that is not a 200 with JSON (an inquiry changes nothing). */
export function okBody<T>(what: string, answer: StripeAnswer): T {
  if (answer.status === 200 && answer.body !== null && typeof answer.body === 'object') return answer.body as T;
  throw new ProcessorOutcomeUnknown(`${what}: ${describeFailure(classifyFailure(answer.status, answer.body))}`);
}

export class StripeLookup {
  private readonly cache = new Map<string, string>();

  constructor(
    private readonly transport: StripeTransport,
    private readonly clock: Clock,
    private readonly in_flight_ms: number,
  ) {}

  remember(payrail_id: string, processor_id: string): void {
    if (this.cache.has(payrail_id)) return;
    if (this.cache.size >= MAX_CACHED_IDS) this.cache.delete(this.cache.keys().next().value as string);
    this.cache.set(payrail_id, processor_id);
  }

  cached(payrail_id: string): string | undefined {
    return this.cache.get(payrail_id);
  }

  /** The processor's id of the object at `list_path` whose `metadata[key]` is `payrail_id`. */
  async find(list_path: string, key: string, payrail_id: string, search_path: string | null): Promise<Lookup> {
    const cached = this.cache.get(payrail_id);
    if (cached) return { found: true, id: cached };
    const searched = search_path ? await this.search(search_path, key, payrail_id) : null;
    const found = searched ?? (await this.walk(list_path, key, payrail_id));
    if (found.found === true) this.remember(payrail_id, found.id);
    return found;
  }

  private async search(path: string, key: string, payrail_id: string): Promise<Lookup | null> {
    if (!/^[A-Za-z0-9_-]+$/.test(payrail_id)) return null;
    const query: FormParams = [
      ['query', `metadata['${key}']:'${payrail_id}'`],
      ['limit', '10'],
    ];
    const page = okBody<{ data: Listed[] }>(`search ${path}`, await this.transport.get(path, query));
    const match = page.data.find((item) => item.metadata?.[key] === payrail_id);
    return match ? { found: true, id: match.id } : null;
  }

  private async walk(path: string, key: string, payrail_id: string): Promise<Lookup> {
    const made_ms = idTimeMs(payrail_id);
    if (made_ms === null) return { found: 'unknown' };
    const from_s = Math.floor(made_ms / 1000) - CLOCK_SKEW_S;
    let starting_after: string | null = null;
    for (let page_number = 0; page_number < MAX_WALK_PAGES; page_number++) {
      const query: FormParams = [
        ['created[gte]', String(from_s)],
        ['limit', String(PAGE_SIZE)],
      ];
      if (starting_after) query.push(['starting_after', starting_after]);
      const page = okBody<{ data: Listed[]; has_more: boolean }>(`list ${path}`, await this.transport.get(path, query));
      const match = page.data.find((item) => item.metadata?.[key] === payrail_id);
      if (match) return { found: true, id: match.id };
      const last = page.data.at(-1);
      if (!page.has_more || !last) return this.clock.now_ms() - made_ms >= this.in_flight_ms ? { found: false } : { found: 'unknown' };
      starting_after = last.id;
    }
    return { found: 'unknown' };
  }
}
