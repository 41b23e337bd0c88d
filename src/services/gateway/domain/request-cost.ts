/**
 * What a request costs against its merchant's rate limit, in units of one plain retrieve. The work a
 * request makes grows with the objects it reads (a list's `limit`), with each `expand[]` path (one load
 * per object returned) and with writes (a durable commit, often a processor call).
 */
export interface RequestShape {
  write: boolean;
  /** Objects the request may return: a list's `limit`, 1 for anything else. */
  objects: number;
  /** Distinct `expand[]` paths. */
  expansions: number;
}

/** A page of this many objects costs as much as one retrieve: a list's default page (10) is 1 unit. */
const OBJECTS_PER_UNIT = 10;
/** A write's commit (fsync) and processor call, next to a read. */
export const WRITE_COST = 5;

export function requestCost(shape: RequestShape): number {
  const reads = Math.max(1, Math.ceil(shape.objects / OBJECTS_PER_UNIT));
  return reads * (1 + shape.expansions) + (shape.write ? WRITE_COST - 1 : 0);
}
