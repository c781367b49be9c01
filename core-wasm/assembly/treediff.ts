// Merge-walk of two sorted dirtree entry tables (OSTree sorts entries by name bytes, strcmp order).
// Packed input table: `count` entries back to back, each
//   u32 nameLength (little-endian) | name bytes (UTF-8, no NUL) | checksum bytes (checksumLength)
// where checksumLength is 32 (file entries) or 64 (subdir entries: tree + meta checksum).
// Output: records of three little-endian i32 (kind, indexA, indexB) at outPtr, in name order;
// kind 1 = added (only in b, indexA = -1), 2 = removed (only in a, indexB = -1),
// 3 = modified (same name, different checksum). Room for aCount + bCount records is needed.

export const DIFF_ADDED: i32 = 1;
export const DIFF_REMOVED: i32 = 2;
export const DIFF_MODIFIED: i32 = 3;
/** Returned when table a is not strictly sorted by name bytes. */
export const DIFF_ERR_A_UNSORTED: i32 = -1;
/** Returned when table b is not strictly sorted by name bytes. */
export const DIFF_ERR_B_UNSORTED: i32 = -2;

/** strcmp-style comparison of the names of the entries at p and q: <0, 0, >0. */
function compareNames(p: usize, q: usize): i32 {
  const lp = <usize>load<u32>(p);
  const lq = <usize>load<u32>(q);
  const n = min<usize>(lp, lq);
  const np = p + 4;
  const nq = q + 4;
  let i: usize = 0;
  while (i + 8 <= n) {
    if (load<u64>(np + i) != load<u64>(nq + i)) break;
    i += 8;
  }
  for (; i < n; i++) {
    const x = <i32>load<u8>(np + i);
    const y = <i32>load<u8>(nq + i);
    if (x != y) return x - y;
  }
  return <i32>lp - <i32>lq;
}

function checksumsEqual(p: usize, q: usize, checksumLength: usize): bool {
  for (let i: usize = 0; i < checksumLength; i += 8) {
    if (load<u64>(p + i) != load<u64>(q + i)) return false;
  }
  return true;
}

// @ts-ignore: decorator
@inline function entrySize(p: usize, checksumLength: usize): usize {
  return 4 + <usize>load<u32>(p) + checksumLength;
}

/** True when the `count` entries at `ptr` are strictly increasing by name. */
function isStrictlySorted(ptr: usize, count: i32, checksumLength: usize): bool {
  if (count < 2) return true;
  let prev = ptr;
  let cur = ptr + entrySize(ptr, checksumLength);
  for (let i = 1; i < count; i++) {
    if (compareNames(prev, cur) >= 0) return false;
    prev = cur;
    cur += entrySize(cur, checksumLength);
  }
  return true;
}

// @ts-ignore: decorator
@inline function emit(out: usize, kind: i32, ia: i32, ib: i32): usize {
  store<i32>(out, kind, 0);
  store<i32>(out, ia, 4);
  store<i32>(out, ib, 8);
  return out + 12;
}

/**
 * Diffs table a (aCount entries at aPtr) against table b; checksumLength must be a multiple of 8.
 * Returns the number of records written at outPtr, or a negative DIFF_ERR_* code.
 */
export function treeDiff(aPtr: usize, aCount: i32, bPtr: usize, bCount: i32, checksumLength: i32, outPtr: usize): i32 {
  const csLen = <usize>checksumLength;
  if (!isStrictlySorted(aPtr, aCount, csLen)) return DIFF_ERR_A_UNSORTED;
  if (!isStrictlySorted(bPtr, bCount, csLen)) return DIFF_ERR_B_UNSORTED;
  let out = outPtr;
  let ia = 0, ib = 0;
  let p = aPtr, q = bPtr;
  while (ia < aCount && ib < bCount) {
    const c = compareNames(p, q);
    if (c < 0) {
      out = emit(out, DIFF_REMOVED, ia, -1);
      p += entrySize(p, csLen);
      ia++;
    } else if (c > 0) {
      out = emit(out, DIFF_ADDED, -1, ib);
      q += entrySize(q, csLen);
      ib++;
    } else {
      const lp = <usize>load<u32>(p);
      if (!checksumsEqual(p + 4 + lp, q + 4 + lp, csLen)) out = emit(out, DIFF_MODIFIED, ia, ib);
      p += 4 + lp + csLen;
      q += 4 + lp + csLen;
      ia++;
      ib++;
    }
  }
  for (; ia < aCount; ia++) out = emit(out, DIFF_REMOVED, ia, -1);
  for (; ib < bCount; ib++) out = emit(out, DIFF_ADDED, -1, ib);
  return <i32>((out - outPtr) / 12);
}
