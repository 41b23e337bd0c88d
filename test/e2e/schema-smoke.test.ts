import { describe, expect, it } from 'vitest';
import { stripeSchemaProblems } from '../support/stripe-schema.js';

describe('the Stripe schema checker', () => {
  it('rejects an object with a wrong type and a missing field', () => {
    const problems = stripeSchemaProblems('refund', { id: 're_1', object: 'refund', amount: 'ten', created: 1, currency: 'usd' });
    expect(problems.some((p) => p.includes('/amount'))).toBe(true);
    expect(problems).toContain('missing field charge');
  });
});
