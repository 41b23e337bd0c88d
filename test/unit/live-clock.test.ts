import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/kernel/clock.js';
import { loadConfig } from '../../src/platform/config.js';
import { startPlatform } from '../../src/compose.js';

/** Time moves by hand in test mode only: live mode refuses an injected clock before it opens anything. */
describe('the platform clock', () => {
  it('live mode refuses a moved clock', async () => {
    const live = { ...loadConfig({}), mode: 'live' as const };
    await expect(startPlatform(live, { clock: new ManualClock(Date.now() + 86_400_000) })).rejects.toThrow(/live mode runs on the system clock/);
  });
});
