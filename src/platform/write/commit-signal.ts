import { assert } from '../../kernel/assert.js';

/**
 * Tells this process's consumers that a write committed, so they read the outbox at once instead of
 * at their next poll. In-process only: commits of other processes (and writes outside the write
 * pipeline) are found by the consumers' slow poll (startPolling's `idle_max_ms`).
 */

/** A process runs a handful of consumers; more listeners than this means unsubscribes were lost. */
export const COMMIT_LISTENERS_MAX = 64;

const listeners = new Set<() => void>();

/** Calls `listener` after every commit of the write pipeline until the returned function is called. */
export function onCommit(listener: () => void): () => void {
  assert(listeners.size < COMMIT_LISTENERS_MAX, `more than ${COMMIT_LISTENERS_MAX} commit listeners: a stopped consumer did not unsubscribe`);
  // Its own entry, so one function subscribed twice is also called twice and unsubscribed once each.
  const entry = () => listener();
  listeners.add(entry);
  return () => {
    listeners.delete(entry);
  };
}

/** Called by the write pipeline after a commit. Synchronous and cheap; never throws into the writer. */
export function notifyCommit(): void {
  for (const listener of listeners) {
    try {
      listener();
    } catch {
      // The write has committed and its caller must get its answer: a listener's fault stays its own,
      // and its consumer still finds the work at its next poll.
    }
  }
}
