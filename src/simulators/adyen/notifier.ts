/**
 * The simulator's standard notifications, sent as Adyen sends them: an HTTP POST of
 * `{ live, notificationItems: [{ NotificationRequestItem }] }` to the configured URL, each item signed
 * with HMAC-SHA256 (hex key; pspReference:originalReference:merchantAccountCode:merchantReference:
 * value:currency:eventCode:success; Base64) in `additionalData.hmacSignature`, and sent again on the
 * retry schedule until the answer's body is `[accepted]`. Signed here on purpose, not with the
 * connector's code: a test of one against the other then checks both against Adyen's rule.
 * Kept in memory, for one simulator run.
 */
import { createHmac } from 'node:crypto';
import type { FaultPlan } from './faults.js';

export interface NotificationItem {
  eventCode: string;
  success: 'true' | 'false';
  pspReference: string;
  originalReference?: string;
  merchantAccountCode: string;
  merchantReference: string;
  amount: { value: number; currency: string };
  eventDate: string;
  reason?: string;
  paymentMethod?: string;
  additionalData?: Record<string, string>;
}

export interface Delivery {
  eventCode: string;
  merchantReference: string;
  pspReference: string;
  attempt: number;
  accepted: boolean;
}

interface Outgoing {
  item: NotificationItem;
  due_ms: number;
  attempts: number;
  seq: number;
}

/** Adyen retries for days; the simulator's default is shorter, and tests pass their own. */
export const DEFAULT_RETRY_MS: readonly number[] = [2_000, 5_000, 10_000, 30_000, 60_000, 120_000];
const DELIVERY_TIMEOUT_MS = 10_000;
const DELIVERIES_KEPT = 10_000;
/** Notifications waiting at once; past it new ones are abandoned (counted), so a dead receiver cannot exhaust memory. */
const QUEUE_MAX = 100_000;
const ABANDONED_KEPT = 10_000;

export function signItem(item: NotificationItem, hmac_key_hex: string): string {
  const fields = [
    item.pspReference,
    item.originalReference ?? '',
    item.merchantAccountCode,
    item.merchantReference,
    item.amount.value,
    item.amount.currency,
    item.eventCode,
    item.success,
  ];
  return createHmac('sha256', Buffer.from(hmac_key_hex, 'hex')).update(fields.join(':')).digest('base64');
}

export class Notifier {
  readonly deliveries: Delivery[] = [];
  /** Notifications given up on after the last retry. */
  readonly abandoned: NotificationItem[] = [];
  private queue: Outgoing[] = [];
  private seq = 0;
  private timer: NodeJS.Timeout | null = null;
  private sending = false;
  private closed = false;

  private url: string | null;

  constructor(private readonly options: { url: string | null; hmac_key_hex: string; retry_ms: readonly number[]; plan: FaultPlan }) {
    this.url = options.url;
  }

  /** Where notifications go from now on; null sends none. */
  setUrl(url: string | null): void {
    this.url = url;
  }

  send(item: NotificationItem): void {
    if (this.url === null || this.closed) return;
    const signed = { ...item, additionalData: { ...item.additionalData, hmacSignature: signItem(item, this.options.hmac_key_hex) } };
    const { duplicate, delay_ms } = this.options.plan.notifications;
    const copies = duplicate ? 2 : 1;
    for (let copy = 0; copy < copies; copy += 1) {
      if (this.queue.length >= QUEUE_MAX) this.abandon(signed);
      else this.queue.push({ item: signed, due_ms: Date.now() + delay_ms, attempts: 0, seq: (this.seq += 1) });
    }
    this.schedule();
  }

  /** Notifications not yet accepted nor abandoned. */
  pending(): number {
    return this.queue.length + (this.sending ? 1 : 0);
  }

  close(): void {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }

  private schedule(): void {
    if (this.closed || this.sending || this.queue.length === 0) return;
    // Reordering holds every queued notification until the last is due, then sends newest first.
    const dues = this.queue.map((entry) => entry.due_ms);
    const next_due = this.options.plan.notifications.out_of_order ? Math.max(...dues) : Math.min(...dues);
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => void this.pump(), Math.max(0, next_due - Date.now()));
    this.timer.unref();
  }

  /** Sends the due notifications one at a time: oldest first, or (reordering) the whole queue newest first. */
  private async pump(): Promise<void> {
    this.timer = null;
    this.sending = true;
    try {
      for (;;) {
        const now = Date.now();
        const reorder = this.options.plan.notifications.out_of_order;
        const due = this.queue.filter((entry) => entry.due_ms <= now).sort((a, b) => a.seq - b.seq);
        if (reorder && due.length < this.queue.length) break;
        const entry = reorder ? due.at(-1) : due[0];
        if (!entry || this.closed) break;
        this.queue = this.queue.filter((queued) => queued !== entry);
        await this.deliver(entry);
      }
    } finally {
      this.sending = false;
      this.schedule();
    }
  }

  private async deliver(entry: Outgoing): Promise<void> {
    entry.attempts += 1;
    const accepted = await this.post(entry.item);
    this.deliveries.push({
      eventCode: entry.item.eventCode,
      merchantReference: entry.item.merchantReference,
      pspReference: entry.item.pspReference,
      attempt: entry.attempts,
      accepted,
    });
    if (this.deliveries.length > DELIVERIES_KEPT) this.deliveries.shift();
    if (accepted) return;
    const wait_ms = this.options.retry_ms[entry.attempts - 1];
    if (wait_ms === undefined) this.abandon(entry.item);
    else this.queue.push({ ...entry, due_ms: Date.now() + wait_ms });
  }

  private abandon(item: NotificationItem): void {
    this.abandoned.push(item);
    if (this.abandoned.length > ABANDONED_KEPT) this.abandoned.shift();
  }

  private async post(item: NotificationItem): Promise<boolean> {
    if (this.url === null) return false;
    try {
      const response = await fetch(this.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ live: 'false', notificationItems: [{ NotificationRequestItem: item }] }),
        signal: AbortSignal.timeout(DELIVERY_TIMEOUT_MS),
      });
      return response.ok && (await response.text()).trim() === '[accepted]';
    } catch {
      return false;
    }
  }
}
