import { randomFillSync } from 'node:crypto';
import { assert } from './assert.js';

/**
 * Cryptographically random bytes drawn from the CSPRNG in blocks: one call per BLOCK_BYTES instead of
 * one per id or client secret, as Node's own randomUUID does. Each byte is handed out once.
 */
const BLOCK_BYTES = 4096;
const block = Buffer.alloc(BLOCK_BYTES);
let used = BLOCK_BYTES;

/** `size` fresh random bytes, copied out of the block (at most BLOCK_BYTES). */
export function randomBytesPooled(size: number): Buffer {
  assert(Number.isInteger(size) && size >= 0 && size <= BLOCK_BYTES, `random draws are 0 to ${BLOCK_BYTES} bytes`);
  if (used + size > BLOCK_BYTES) {
    randomFillSync(block);
    used = 0;
  }
  const drawn = Buffer.from(block.subarray(used, used + size));
  used += size;
  return drawn;
}
