import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ERROR_CODES } from '../../src/kernel/errors.js';

describe('docs/errors.md', () => {
  it('lists exactly the registry’s codes, with the same status and type', () => {
    const rows = readFileSync('docs/errors.md', 'utf8')
      .split('\n')
      .map((line) => /^\| `(\w+)` \| (\d{3}) \| `(\w+)` \|/.exec(line))
      .filter((match): match is RegExpExecArray => match !== null)
      .map(([, code, status, type]) => ({ code, status: Number(status), type }));
    const registry = Object.entries(ERROR_CODES).map(([code, spec]) => ({ code, status: spec.status, type: spec.type }));
    expect(rows).toEqual(registry);
  });
});
