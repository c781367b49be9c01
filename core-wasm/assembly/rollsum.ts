// Content-defined chunking for static-delta generation: bup's rolling checksum ("bupsplit", a
// 64-byte window Adler-like sum, as ostree's BUP_WINDOWSIZE = 1 << (7 - 1); a chunk ends where the low 13 bits of s2 are all ones) with
// chunks capped at 32 KiB, as OSTree splits files to find blocks shared by the old and new
// version of a file. Each chunk is reported with its CRC-32 (IEEE, as zlib's crc32) so the
// caller can match chunks cheaply before comparing bytes.
//
// rollsumChunks(ptr, len, outPtr, maxChunks) writes records of two little-endian u32
// (chunk length, crc32) at outPtr and returns their number, or -1 if maxChunks is too small.

const WINDOW_SIZE: i32 = 64;
const BLOB_BITS: u32 = 13;
const BLOB_MASK: u32 = (1 << BLOB_BITS) - 1;
const CHAR_OFFSET: u32 = 31;
/** Largest chunk (OSTree's ROLLSUM_BLOB_MAX). */
export const ROLLSUM_MAX_CHUNK: i32 = 8192 * 4;

/** CRC-32 lookup table (256 u32), filled on first use. */
const CRC_TABLE: usize = memory.data(1024, 16);
let crcReady = false;

function crcInit(): void {
  for (let n: u32 = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = (c & 1) != 0 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    store<u32>(CRC_TABLE + (<usize>n << 2), c);
  }
  crcReady = true;
}

/** CRC-32 of len bytes at p. */
export function crc32(p: usize, len: usize): u32 {
  if (!crcReady) crcInit();
  let c: u32 = 0xffffffff;
  for (let i: usize = 0; i < len; i++) {
    c = load<u32>(CRC_TABLE + ((<usize>((c ^ load<u8>(p + i)) & 0xff)) << 2)) ^ (c >>> 8);
  }
  return c ^ 0xffffffff;
}

/** Window of the rolling sum (64 bytes). */
const WINDOW: usize = memory.data(WINDOW_SIZE, 16);

/**
 * Length of the first bupsplit chunk of the len bytes at p (the offset just past the split
 * point), or 0 when no split point occurs.
 */
function findSplit(p: usize, len: i32): i32 {
  memory.fill(WINDOW, 0, WINDOW_SIZE);
  let s1: u32 = <u32>WINDOW_SIZE * CHAR_OFFSET;
  let s2: u32 = <u32>WINDOW_SIZE * <u32>(WINDOW_SIZE - 1) * CHAR_OFFSET;
  let wofs: i32 = 0;
  for (let count: i32 = 0; count < len; count++) {
    const ch = <u32>load<u8>(p + <usize>count);
    const drop = <u32>load<u8>(WINDOW + <usize>wofs);
    s1 += ch - drop;
    s2 += s1 - <u32>WINDOW_SIZE * (drop + CHAR_OFFSET);
    store<u8>(WINDOW + <usize>wofs, <u8>ch);
    wofs = (wofs + 1) & (WINDOW_SIZE - 1);
    if ((s2 & BLOB_MASK) == BLOB_MASK) return count + 1;
  }
  return 0;
}

export function rollsumChunks(ptr: usize, len: i32, outPtr: usize, maxChunks: i32): i32 {
  let start: i32 = 0;
  let n: i32 = 0;
  while (start < len) {
    const remaining = len - start;
    // a split point past the cap would be cut to the cap anyway: scan no further than that
    let size = findSplit(ptr + <usize>start, min<i32>(remaining, ROLLSUM_MAX_CHUNK));
    if (size == 0) size = min<i32>(ROLLSUM_MAX_CHUNK, remaining);
    if (n >= maxChunks) return -1;
    const rec = outPtr + (<usize>n << 3);
    store<u32>(rec, <u32>size);
    store<u32>(rec + 4, crc32(ptr + <usize>start, <usize>size));
    n++;
    start += size;
  }
  return n;
}
