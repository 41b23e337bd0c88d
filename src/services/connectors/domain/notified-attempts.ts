import { assert } from '../../../kernel/assert.js';
import type { ProcessorEvent } from './port.js';

/** Adyen sends at most 100 items per notification; more references than that is a bug upstream. */
export const MAX_NOTIFIED_REFERENCES = 1_000;

/**
 * The references (ids the connector was called with) that a batch of verified events settles an
 * authorization for, each once and in order: a duplicate item in one batch settles nothing twice.
 */
export function authorizationReferences(events: readonly ProcessorEvent[]): string[] {
  const references = new Set<string>();
  for (const event of events) {
    if ('kind' in event && event.kind === 'authorization') references.add(event.reference);
  }
  assert(references.size <= MAX_NOTIFIED_REFERENCES, 'too many authorizations in one notification');
  return [...references];
}
