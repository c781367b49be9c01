// bsdiff for OSTree static deltas: computes a patch turning an old file into a new one, in the raw
// stream form bspatch.ts reads (blocks of three 8-byte sign-magnitude LE control integers, diff
// bytes, extra bytes; no header, no compression: the delta part is xz-compressed as a whole).
// The old file is suffix-sorted with Larsson and Sadakane's doubling algorithm (qsufsort); the new
// file is then scanned for approximate matches as in Colin Percival's bsdiff 4.
//
// Memory (all caller-owned): old (oldSize bytes), new (newSize bytes), two i32 work arrays of
// oldSize + 1 entries each (I, V), and the output buffer (outCap bytes).
// bsdiff(...) returns the patch length, or -1 when outCap is too small (call again with more).

@inline function I(base: usize, i: i32): i32 { return load<i32>(base + (<usize>i << 2)); }
@inline function setI(base: usize, i: i32, v: i32): void { store<i32>(base + (<usize>i << 2), v); }

function swapI(base: usize, a: i32, b: i32): void {
  const t = I(base, a);
  setI(base, a, I(base, b));
  setI(base, b, t);
}

/** One refinement step of qsufsort: sorts the group I[start, start+len) by the rank h positions on. */
function split(ip: usize, vp: usize, start: i32, len: i32, h: i32): void {
  while (true) {
    if (len < 16) {
      let j: i32 = 1;
      for (let k = start; k < start + len; k += j) {
        j = 1;
        let x = I(vp, I(ip, k) + h);
        for (let i = 1; k + i < start + len; i++) {
          const y = I(vp, I(ip, k + i) + h);
          if (y < x) {
            x = y;
            j = 0;
          }
          if (y == x) {
            swapI(ip, k + j, k + i);
            j++;
          }
        }
        for (let i = 0; i < j; i++) setI(vp, I(ip, k + i), k + j - 1);
        if (j == 1) setI(ip, k, -1);
      }
      return;
    }
    const x = I(vp, I(ip, start + (len >> 1)) + h);
    let jj: i32 = 0;
    let kk: i32 = 0;
    for (let i = start; i < start + len; i++) {
      const y = I(vp, I(ip, i) + h);
      if (y < x) jj++;
      if (y == x) kk++;
    }
    jj += start;
    kk += jj;
    let i = start;
    let j: i32 = 0;
    let k: i32 = 0;
    while (i < jj) {
      const y = I(vp, I(ip, i) + h);
      if (y < x) i++;
      else if (y == x) {
        swapI(ip, i, jj + j);
        j++;
      } else {
        swapI(ip, i, kk + k);
        k++;
      }
    }
    while (jj + j < kk) {
      if (I(vp, I(ip, jj + j) + h) == x) j++;
      else {
        swapI(ip, jj + j, kk + k);
        k++;
      }
    }
    if (jj > start) split(ip, vp, start, jj - start, h);
    for (let q = 0; q < kk - jj; q++) setI(vp, I(ip, jj + q), kk - 1);
    if (jj == kk - 1) setI(ip, jj, -1);
    // the upper group: iterate instead of recursing
    if (start + len <= kk) return;
    len = start + len - kk;
    start = kk;
  }
}

/** Bucket counters for the first pass (256 i32). */
const BUCKETS: usize = memory.data(1024, 16);

/** Suffix array of old[0, n) into I (n + 1 entries, I[0] = n for the empty suffix); V is scratch. */
function qsufsort(ip: usize, vp: usize, old: usize, n: i32): void {
  memory.fill(BUCKETS, 0, 1024);
  for (let i = 0; i < n; i++) {
    const c = <i32>load<u8>(old + <usize>i);
    setI(BUCKETS, c, I(BUCKETS, c) + 1);
  }
  for (let i = 1; i < 256; i++) setI(BUCKETS, i, I(BUCKETS, i) + I(BUCKETS, i - 1));
  for (let i = 255; i > 0; i--) setI(BUCKETS, i, I(BUCKETS, i - 1));
  setI(BUCKETS, 0, 0);
  for (let i = 0; i < n; i++) {
    const c = <i32>load<u8>(old + <usize>i);
    const b = I(BUCKETS, c) + 1;
    setI(BUCKETS, c, b);
    setI(ip, b, i);
  }
  setI(ip, 0, n);
  for (let i = 0; i < n; i++) setI(vp, i, I(BUCKETS, <i32>load<u8>(old + <usize>i)));
  setI(vp, n, 0);
  for (let i = 1; i < 256; i++) {
    if (I(BUCKETS, i) == I(BUCKETS, i - 1) + 1) setI(ip, I(BUCKETS, i), -1);
  }
  setI(ip, 0, -1);
  for (let h: i32 = 1; I(ip, 0) != -(n + 1); h += h) {
    let len: i32 = 0;
    let i: i32 = 0;
    while (i < n + 1) {
      const v = I(ip, i);
      if (v < 0) {
        len -= v;
        i -= v;
      } else {
        if (len != 0) setI(ip, i - len, -len);
        len = I(vp, v) + 1 - i;
        split(ip, vp, i, len, h);
        i += len;
        len = 0;
      }
    }
    if (len != 0) setI(ip, i - len, -len);
  }
  for (let i = 0; i < n + 1; i++) setI(ip, I(vp, i), i);
}

/** Length of the common prefix of a[0, an) and b[0, bn). */
function matchLen(a: usize, an: i32, b: usize, bn: i32): i32 {
  const n = min<i32>(an, bn);
  let i: i32 = 0;
  while (i + 8 <= n && load<u64>(a + <usize>i) == load<u64>(b + <usize>i)) i += 8;
  while (i < n && load<u8>(a + <usize>i) == load<u8>(b + <usize>i)) i++;
  return i;
}

/**
 * Whether the old suffix a[0, an) sorts before the new data b[0, bn): bytewise, a shorter string
 * that is a prefix of the other sorting first. (bsdiff 4 compares only min(an, bn) bytes, which
 * steers the search towards short suffixes inside runs of equal bytes and makes it quadratic
 * on zero-filled regions; this order finds the longest match there.)
 */
function lessThan(a: usize, an: i32, b: usize, bn: i32): bool {
  const n = min<i32>(an, bn);
  let i: i32 = 0;
  while (i + 8 <= n && load<u64>(a + <usize>i) == load<u64>(b + <usize>i)) i += 8;
  for (; i < n; i++) {
    const x = load<u8>(a + <usize>i);
    const y = load<u8>(b + <usize>i);
    if (x != y) return x < y;
  }
  return an < bn;
}

let foundPos: i32 = 0;

/** Longest match of new[0, nn) among the suffixes I[st..en] of old; its position goes to foundPos. */
function search(ip: usize, old: usize, on: i32, nw: usize, nn: i32, st: i32, en: i32): i32 {
  while (en - st >= 2) {
    const x = st + ((en - st) >> 1);
    const p = I(ip, x);
    if (lessThan(old + <usize>p, on - p, nw, nn)) st = x;
    else en = x;
  }
  const ps = I(ip, st);
  const pe = I(ip, en);
  const x = matchLen(old + <usize>ps, on - ps, nw, nn);
  const y = matchLen(old + <usize>pe, on - pe, nw, nn);
  if (x > y) {
    foundPos = ps;
    return x;
  }
  foundPos = pe;
  return y;
}

function writeOfft(p: usize, v: i64): void {
  const neg = v < 0;
  let m = <u64>(neg ? -v : v);
  if (neg) m |= 0x8000000000000000;
  store<u64>(p, m);
}

export function bsdiff(oldPtr: usize, oldSize: i32, newPtr: usize, newSize: i32, iPtr: usize, vPtr: usize, outPtr: usize, outCap: i32): i32 {
  qsufsort(iPtr, vPtr, oldPtr, oldSize);
  let out: i32 = 0;
  let scan: i32 = 0;
  let len: i32 = 0;
  let pos: i32 = 0;
  let lastScan: i32 = 0;
  let lastPos: i32 = 0;
  let lastOffset: i32 = 0;
  while (scan < newSize) {
    let oldScore: i32 = 0;
    scan += len;
    let scsc = scan;
    for (; scan < newSize; scan++) {
      len = search(iPtr, oldPtr, oldSize, newPtr + <usize>scan, newSize - scan, 0, oldSize);
      pos = foundPos;
      for (; scsc < scan + len; scsc++) {
        if (scsc + lastOffset < oldSize && load<u8>(oldPtr + <usize>(scsc + lastOffset)) == load<u8>(newPtr + <usize>scsc)) oldScore++;
      }
      if ((len == oldScore && len != 0) || len > oldScore + 8) break;
      if (scan + lastOffset < oldSize && load<u8>(oldPtr + <usize>(scan + lastOffset)) == load<u8>(newPtr + <usize>scan)) oldScore--;
    }
    if (len != oldScore || scan == newSize) {
      // extend the previous match forwards and the new one backwards
      let s: i32 = 0;
      let sf: i32 = 0;
      let lenF: i32 = 0;
      for (let i: i32 = 0; lastScan + i < scan && lastPos + i < oldSize; ) {
        if (load<u8>(oldPtr + <usize>(lastPos + i)) == load<u8>(newPtr + <usize>(lastScan + i))) s++;
        i++;
        if (s * 2 - i > sf * 2 - lenF) {
          sf = s;
          lenF = i;
        }
      }
      let lenB: i32 = 0;
      if (scan < newSize) {
        s = 0;
        let sb: i32 = 0;
        for (let i: i32 = 1; scan >= lastScan + i && pos >= i; i++) {
          if (load<u8>(oldPtr + <usize>(pos - i)) == load<u8>(newPtr + <usize>(scan - i))) s++;
          if (s * 2 - i > sb * 2 - lenB) {
            sb = s;
            lenB = i;
          }
        }
      }
      if (lastScan + lenF > scan - lenB) {
        const overlap = lastScan + lenF - (scan - lenB);
        s = 0;
        let ss: i32 = 0;
        let lenS: i32 = 0;
        for (let i: i32 = 0; i < overlap; i++) {
          if (load<u8>(newPtr + <usize>(lastScan + lenF - overlap + i)) == load<u8>(oldPtr + <usize>(lastPos + lenF - overlap + i))) s++;
          if (load<u8>(newPtr + <usize>(scan - lenB + i)) == load<u8>(oldPtr + <usize>(pos - lenB + i))) s--;
          if (s > ss) {
            ss = s;
            lenS = i + 1;
          }
        }
        lenF += lenS - overlap;
        lenB -= lenS;
      }
      const extraLen = scan - lenB - (lastScan + lenF);
      if (<i64>out + 24 + <i64>lenF + <i64>extraLen > <i64>outCap) return -1;
      const rec = outPtr + <usize>out;
      writeOfft(rec, lenF);
      writeOfft(rec + 8, extraLen);
      writeOfft(rec + 16, <i64>(pos - lenB) - <i64>(lastPos + lenF));
      out += 24;
      for (let i: i32 = 0; i < lenF; i++) {
        store<u8>(outPtr + <usize>(out + i), load<u8>(newPtr + <usize>(lastScan + i)) - load<u8>(oldPtr + <usize>(lastPos + i)));
      }
      out += lenF;
      memory.copy(outPtr + <usize>out, newPtr + <usize>(lastScan + lenF), <usize>extraLen);
      out += extraLen;
      lastScan = scan - lenB;
      lastPos = pos - lenB;
      lastOffset = pos - scan;
    }
  }
  return out;
}
