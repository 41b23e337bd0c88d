import { describe, expect, it } from 'vitest';
import { sameSecret } from '../../src/kernel/secrets.js';

describe('sameSecret', () => {
  it('is true only for the very same secret', () => {
    expect(sameSecret('pi_1_secret_abc', 'pi_1_secret_abc')).toBe(true);
    expect(sameSecret('pi_1_secret_abc', 'pi_1_secret_abd')).toBe(false);
    expect(sameSecret('pi_1_secret_abc', 'pi_1_secret_ab')).toBe(false);
    expect(sameSecret('pi_1_secret_abc', '')).toBe(false);
    expect(sameSecret('é', 'e\u0301')).toBe(false);
  });
});
