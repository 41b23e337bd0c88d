import type { Db } from '../../../platform/db.js';
import type { RunRow } from '../adapters/reconciliation-store.js';
import { LIST_LIMIT_MAX, exceptionsOf, findRun, listRuns } from '../adapters/reconciliation-store.js';
import { renderException } from '../adapters/reconciliation-render.js';

/** What the CLI reads of reconciliation: runs, one run, a run's exceptions rendered with their evidence. */

export type ReconciliationRun = RunRow;
export const RECONCILIATION_LIST_MAX = LIST_LIMIT_MAX;

export function reconciliationRuns(db: Db, filter: { date?: string | undefined; limit: number }): Promise<ReconciliationRun[]> {
  return listRuns(db, filter);
}

export async function reconciliationRun(db: Db, id: string): Promise<ReconciliationRun | undefined> {
  return id.length > 0 && id.length <= 255 ? findRun(db, id) : undefined;
}

export async function reconciliationExceptions(db: Db, run_id: string, limit: number): Promise<Record<string, unknown>[]> {
  return (await exceptionsOf(db, run_id, '', limit)).map(renderException);
}
