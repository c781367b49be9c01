// bspatch for OSTree static deltas: applies a bsdiff patch in Colin Percival's / mendsley's raw
// stream form (no "ENDSLEY/BSDIFF43" header, no compression): repeated blocks of
//   3 x 8-byte sign-magnitude little-endian integers (diff length, extra length, seek)
//   diff bytes (each added to the old byte at the same position, old bytes outside the old file count as 0)
//   extra bytes (copied as they are)
// until the new file (whose size the caller knows) is complete. Every operand is checked against
// the patch, old and new sizes; a malformed patch yields a negative error code, never a read or
// write outside the three buffers.

/** The patch ended in the middle of a block. */
export const BSPATCH_ERR_TRUNCATED: i32 = -1;
/** A control value is negative where it must not be, or implausibly large. */
export const BSPATCH_ERR_BAD_CONTROL: i32 = -2;
/** A block would write past the declared new size. */
export const BSPATCH_ERR_OVERFLOW: i32 = -3;

/** Largest magnitude accepted for a control value (2^53, far above any buffer size). */
const MAX_CONTROL: i64 = 0x20000000000000;

/** Reads the 8-byte sign-magnitude integer at p; returns i64.MIN_VALUE when its magnitude is too large. */
function readOfft(p: usize): i64 {
  const raw = load<u64>(p);
  const magnitude = <i64>(raw & 0x7fffffffffffffff);
  if (magnitude > MAX_CONTROL) return i64.MIN_VALUE;
  return (raw >> 63) != 0 ? -magnitude : magnitude;
}

/**
 * Rebuilds the new file at newPtr (newSize bytes) from the old file at oldPtr (oldSize bytes) and
 * the patch at patchPtr (patchSize bytes). Returns the number of patch bytes consumed (>= 0), or a
 * BSPATCH_ERR_* code. Bytes of the patch after the last block needed are ignored, as bspatch does.
 */
export function bspatch(oldPtr: usize, oldSize: i64, patchPtr: usize, patchSize: i64, newPtr: usize, newSize: i64): i64 {
  let oldPos: i64 = 0;
  let newPos: i64 = 0;
  let at: i64 = 0;
  while (newPos < newSize) {
    if (patchSize - at < 24) return BSPATCH_ERR_TRUNCATED;
    const diffLen = readOfft(patchPtr + <usize>at);
    const extraLen = readOfft(patchPtr + <usize>at + 8);
    const seek = readOfft(patchPtr + <usize>at + 16);
    at += 24;
    if (diffLen < 0 || extraLen < 0 || seek == i64.MIN_VALUE) return BSPATCH_ERR_BAD_CONTROL;
    if (diffLen > newSize - newPos) return BSPATCH_ERR_OVERFLOW;
    if (diffLen > patchSize - at) return BSPATCH_ERR_TRUNCATED;
    // diff: new = patch byte + old byte (where the old position is inside the old file)
    const dst = newPtr + <usize>newPos;
    const src = patchPtr + <usize>at;
    const lo: i64 = min<i64>(max<i64>(0, -oldPos), diffLen);
    const hi: i64 = max<i64>(lo, min<i64>(diffLen, oldSize - oldPos));
    // bytes before the old file: copied as they are
    memory.copy(dst, src, <usize>lo);
    let i: i64 = lo;
    const old = oldPtr + <usize>oldPos; // only dereferenced at indexes in [lo, hi)
    while (i + 16 <= hi) {
      v128.store(dst + <usize>i, i8x16.add(v128.load(src + <usize>i), v128.load(old + <usize>i)));
      i += 16;
    }
    for (; i < hi; i++) store<u8>(dst + <usize>i, load<u8>(src + <usize>i) + load<u8>(old + <usize>i));
    // bytes after the old file
    if (diffLen > hi) memory.copy(dst + <usize>hi, src + <usize>hi, <usize>(diffLen - hi));
    at += diffLen;
    newPos += diffLen;
    oldPos += diffLen;
    // extra
    if (extraLen > newSize - newPos) return BSPATCH_ERR_OVERFLOW;
    if (extraLen > patchSize - at) return BSPATCH_ERR_TRUNCATED;
    memory.copy(newPtr + <usize>newPos, patchPtr + <usize>at, <usize>extraLen);
    at += extraLen;
    newPos += extraLen;
    oldPos += seek;
    if (oldPos > MAX_CONTROL || oldPos < -MAX_CONTROL) return BSPATCH_ERR_BAD_CONTROL;
  }
  return at;
}
