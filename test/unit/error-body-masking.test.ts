import { describe, expect, it } from 'vitest';
import { PayrailError } from '../../src/kernel/errors.js';
import { errorBody } from '../../src/platform/http/errors.js';

/** An error's message echoes what a client sent: card numbers go, ids of ours stay readable. */

const message = (text: string): unknown => (errorBody(new PayrailError('resource_missing', { message: text })).error as { message: string }).message;

describe('errorBody', () => {
  it('keeps the last four of a card number put where an id belongs', () => {
    expect(message("No such payment_method: '4242424242424242'")).toBe("No such payment_method: '************4242'");
    expect(message("No such charge: 'ch_4000-0566-5566-5556'")).toBe("No such charge: 'ch_************5556'");
    expect(message(`No such customer: 'cus_${'4'.repeat(26)}'`)).toBe(`No such customer: 'cus_${'*'.repeat(22)}4444'`);
  });

  it('leaves whole an id of ours whose random part holds a long digit run', () => {
    // A real merchant id from a CI run, whose message came back as `acct_01M8W0KXZ8BED********0227D`.
    const account = 'acct_01M8W0KXZ8BED148412670227D';
    expect(message(`The provided key does not have the required permissions on account '${account}'.`)).toContain(`'${account}'`);
  });
});
