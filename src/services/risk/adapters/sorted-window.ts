/**
 * One window of the embedded store, kept the way Redis keeps a sorted set: every member with its time,
 * and the members in Redis's order (time, then member by byte order) in two parallel arrays. A count
 * of the members seen after a time is then a binary search, not a pass over up to
 * MAX_MEMBERS_PER_WINDOW members, and expiring or trimming the oldest moves a start index (the arrays
 * are compacted once the dropped part is as long as the kept one: amortised O(1) per member).
 * Times mostly arrive in order, so an insert lands at the end; a member moved to now is the one
 * mid-array removal. Member names are ASCII (ids, digests, country codes), where JavaScript's string
 * order is Redis's byte order.
 */
export class SortedWindow {
  private readonly at = new Map<string, number>();
  private readonly times: number[] = [];
  private readonly members: string[] = [];
  /** The first live index: entries before it are dropped, awaiting compaction. */
  private head = 0;
  /** The window expires (whole) at this time: the last write's time plus its ttl. */
  expires_ms = 0;

  get size(): number {
    return this.times.length - this.head;
  }

  /** When `member` was stored, if it is. */
  timeOf(member: string): number | undefined {
    return this.at.get(member);
  }

  /** How many members were stored after `since_ms`: ZCOUNT key (since +inf. */
  countAfter(since_ms: number): number {
    return this.times.length - this.firstAfter(since_ms);
  }

  /** Stores `member` at `now_ms` (or keeps its first time when `keep_first`): ZADD [NX]. */
  add(member: string, now_ms: number, keep_first: boolean): void {
    const stored = this.at.get(member);
    if (stored !== undefined) {
      if (keep_first) return;
      this.removeAt(this.positionOf(stored, member));
    }
    const position = this.positionOf(now_ms, member);
    this.times.splice(position, 0, now_ms);
    this.members.splice(position, 0, member);
    this.at.set(member, now_ms);
  }

  /** Drops the members stored at or before `until_ms`: ZREMRANGEBYSCORE key -inf until. */
  dropUntil(until_ms: number): void {
    this.dropFirst(this.firstAfter(until_ms) - this.head);
  }

  /** Keeps the last `max` members in Redis's order: ZREMRANGEBYRANK key 0 (size − max − 1). */
  trimTo(max: number): void {
    if (this.size > max) this.dropFirst(this.size - max);
  }

  private dropFirst(count: number): void {
    if (count <= 0) return;
    for (let i = this.head; i < this.head + count; i += 1) this.at.delete(this.members[i] as string);
    this.head += count;
    if (this.head * 2 < this.times.length) return;
    this.times.splice(0, this.head);
    this.members.splice(0, this.head);
    this.head = 0;
  }

  private removeAt(position: number): void {
    this.times.splice(position, 1);
    this.members.splice(position, 1);
  }

  /** The first index whose time is after `since_ms` (the array's length when none is). */
  private firstAfter(since_ms: number): number {
    let low = this.head;
    let high = this.times.length;
    while (low < high) {
      const middle = (low + high) >>> 1;
      if ((this.times[middle] as number) > since_ms) high = middle;
      else low = middle + 1;
    }
    return low;
  }

  /** The index of (`time`, `member`) in Redis's order: where it is, or where it would go. */
  private positionOf(time: number, member: string): number {
    let low = this.head;
    let high = this.times.length;
    while (low < high) {
      const middle = (low + high) >>> 1;
      const middle_time = this.times[middle] as number;
      if (middle_time < time || (middle_time === time && (this.members[middle] as string) < member)) low = middle + 1;
      else high = middle;
    }
    return low;
  }
}
