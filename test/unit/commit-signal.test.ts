import { describe, expect, it } from 'vitest';
import { COMMIT_LISTENERS_MAX, notifyCommit, onCommit } from '../../src/platform/write/commit-signal.js';

describe('the commit signal', () => {
  it('calls each listener until it unsubscribes', () => {
    const heard: string[] = [];
    const stop_ledger = onCommit(() => heard.push('ledger'));
    const stop_webhooks = onCommit(() => heard.push('webhooks'));
    notifyCommit();
    stop_ledger();
    notifyCommit();
    stop_webhooks();
    notifyCommit();
    expect(heard).toEqual(['ledger', 'webhooks', 'webhooks']);
  });

  it('a listener that throws neither reaches the writer nor silences the others', () => {
    let heard = 0;
    const unsubscribes = [
      onCommit(() => {
        throw new Error('listener bug');
      }),
      onCommit(() => (heard += 1)),
    ];
    expect(() => notifyCommit()).not.toThrow();
    expect(heard).toBe(1);
    for (const unsubscribe of unsubscribes) unsubscribe();
  });

  it('refuses listeners past its limit, and takes them again once some unsubscribe', () => {
    const unsubscribes = Array.from({ length: COMMIT_LISTENERS_MAX }, () => onCommit(() => {}));
    expect(() => onCommit(() => {})).toThrow(/commit listeners/);
    unsubscribes.pop()?.();
    unsubscribes.push(onCommit(() => {}));
    for (const unsubscribe of unsubscribes) unsubscribe();
  });
});
