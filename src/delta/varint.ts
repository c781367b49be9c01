// Unsigned LEB128 ("protobuf varint") integers, the operands of the static-delta op stream.
// Reading is bounded: at most 10 bytes, values above 2^53 - 1 and truncated input are errors.

import { CorruptionError } from '../util/errors.ts';

/** A cursor over a byte array (the op stream of a delta part). */
export interface VarintCursor {
  data: Uint8Array;
  pos: number;
}

/** Reads one varint at cur.pos and advances; throws on truncation or a value that does not fit a safe integer. */
export function readVarint(cur: VarintCursor): number {
  const { data } = cur;
  let result = 0;
  let scale = 1;
  for (let i = 0; i < 10; i++) {
    if (cur.pos >= data.length) throw new CorruptionError('Static delta: truncated varint in the operation stream');
    const b = data[cur.pos++]!;
    result += (b & 0x7f) * scale;
    if (result > Number.MAX_SAFE_INTEGER) throw new CorruptionError('Static delta: varint operand out of range');
    if ((b & 0x80) === 0) return result;
    scale *= 128;
  }
  throw new CorruptionError('Static delta: varint longer than 10 bytes');
}

/** Appends the varint encoding of a non-negative safe integer to `out`. */
export function writeVarint(out: number[], value: number): void {
  if (!Number.isSafeInteger(value) || value < 0) throw new RangeError(`writeVarint: invalid value ${value}`);
  let v = value;
  while (v >= 0x80) {
    out.push((v % 128) | 0x80);
    v = Math.floor(v / 128);
  }
  out.push(v);
}
