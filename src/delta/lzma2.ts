// A small, deterministic LZMA2 encoder (pure TypeScript, runs everywhere) for compressing
// static-delta parts: hash-chain match finder over a 4 MiB window, liblzma-style "fast mode"
// parsing (the four rep distances, short reps, one step of lazy matching), lc=3 lp=0 pb=2. Output is a raw LZMA2 stream (chunks of at most 2 MiB of input and
// 64 KiB of output over a continuing dictionary; the LZMA state goes on from chunk to chunk and
// restarts only after a chunk that did not shrink and was stored). It trades ratio for simplicity: typically within 5-12 % of xz -6.

import { concatBytes } from '../util/bytes.ts';

/** Dictionary size (and match window): 4 MiB, LZMA2 property byte 20. */
export const LZMA2_DICT_SIZE = 1 << 22;
export const LZMA2_DICT_PROP = 20;

const MAX_CHUNK_UNCOMPRESSED = 1 << 21;
const MAX_CHUNK_COMPRESSED = 1 << 16;
const MATCH_MIN = 2;
const MATCH_MAX = 273;
const HASH_BITS = 20;
const CHAIN_DEPTH = 24;
/** A match this long is taken at once. */
const NICE_LEN = 64;
const PROB_INIT = 1024;
const PB = 2;
const LC = 3;
const POS_MASK = (1 << PB) - 1;

/**
 * The range coder's output buffer, shared by every chunk (a chunk's output is copied out by
 * finish()): one array of numbers per chunk would leave ~0.5 MiB of large-object garbage per
 * 2 MiB of input, which V8 collects late.
 */
let rcScratch = new Uint8Array(MAX_CHUNK_COMPRESSED + 4096);

class RangeEncoder {
  low = 0;
  range = 0xffffffff;
  cache = 0;
  cacheSize = 1;
  private n = 0;

  private push(byte: number): void {
    if (this.n === rcScratch.length) {
      const next = new Uint8Array(rcScratch.length * 2);
      next.set(rcScratch);
      rcScratch = next;
    }
    rcScratch[this.n++] = byte;
  }

  private shiftLow(): void {
    if (this.low < 0xff000000 || this.low >= 0x100000000) {
      const carry = this.low >= 0x100000000 ? 1 : 0;
      let temp = this.cache;
      do {
        this.push((temp + carry) & 0xff);
        temp = 0xff;
      } while (--this.cacheSize !== 0);
      this.cache = Math.floor(this.low / 0x1000000) & 0xff;
    }
    this.cacheSize++;
    this.low = (this.low % 0x1000000) * 256;
  }

  bit(probs: Uint16Array, i: number, bit: number): void {
    const p = probs[i]!;
    const bound = (this.range >>> 11) * p;
    if (bit === 0) {
      this.range = bound;
      probs[i] = p + ((2048 - p) >>> 5);
    } else {
      this.low += bound;
      this.range -= bound;
      probs[i] = p - (p >>> 5);
    }
    while (this.range < 0x1000000) {
      this.range = (this.range * 256) >>> 0;
      this.shiftLow();
    }
  }

  direct(value: number, bits: number): void {
    for (let i = bits - 1; i >= 0; i--) {
      this.range >>>= 1;
      if ((value >>> i) & 1) this.low += this.range;
      while (this.range < 0x1000000) {
        this.range = (this.range * 256) >>> 0;
        this.shiftLow();
      }
    }
  }

  tree(probs: Uint16Array, base: number, bits: number, value: number): void {
    let m = 1;
    for (let i = bits - 1; i >= 0; i--) {
      const b = (value >>> i) & 1;
      this.bit(probs, base + m, b);
      m = (m << 1) | b;
    }
  }

  reverseTree(probs: Uint16Array, base: number, bits: number, value: number): void {
    let m = 1;
    for (let i = 0; i < bits; i++) {
      const b = value & 1;
      this.bit(probs, base + m, b);
      m = (m << 1) | b;
      value >>>= 1;
    }
  }

  /** Bytes written plus those still pending (an upper bound before flush adds at most 5). */
  get size(): number {
    return this.n + this.cacheSize;
  }

  finish(): Uint8Array {
    for (let i = 0; i < 5; i++) this.shiftLow();
    return rcScratch.slice(0, this.n);
  }
}

class LenEncoder {
  readonly probs = new Uint16Array(2 + (16 << 3) + (16 << 3) + 256).fill(PROB_INIT);
  encode(rc: RangeEncoder, len: number, posState: number): void {
    len -= MATCH_MIN;
    const p = this.probs;
    if (len < 8) {
      rc.bit(p, 0, 0);
      rc.tree(p, 2 + (posState << 3), 3, len);
    } else if (len < 16) {
      rc.bit(p, 0, 1);
      rc.bit(p, 1, 0);
      rc.tree(p, 2 + (16 << 3) + (posState << 3), 3, len - 8);
    } else {
      rc.bit(p, 0, 1);
      rc.bit(p, 1, 1);
      rc.tree(p, 2 + (16 << 3) * 2, 8, len - 16);
    }
  }
}

/** LZMA coder state (continues across chunks; reset after a stored chunk). */
class LzmaModel {
  state = 0;
  /** The four most recent match distances (distance - 1), most recent first. */
  readonly reps = [0, 0, 0, 0];
  get rep0(): number {
    return this.reps[0]!;
  }
  readonly isMatch = new Uint16Array(12 << 4).fill(PROB_INIT);
  readonly isRep = new Uint16Array(12).fill(PROB_INIT);
  readonly isRepG0 = new Uint16Array(12).fill(PROB_INIT);
  readonly isRepG1 = new Uint16Array(12).fill(PROB_INIT);
  readonly isRepG2 = new Uint16Array(12).fill(PROB_INIT);
  readonly isRep0Long = new Uint16Array(12 << 4).fill(PROB_INIT);
  readonly literal = new Uint16Array(0x300 << LC).fill(PROB_INIT);
  readonly posSlot = new Uint16Array(4 << 6).fill(PROB_INIT);
  readonly posSpecial = new Uint16Array(115).fill(PROB_INIT);
  readonly align = new Uint16Array(16).fill(PROB_INIT);
  readonly len = new LenEncoder();
  readonly repLen = new LenEncoder();
}

function posSlotOf(dist: number): number {
  if (dist < 4) return dist;
  const n = 31 - Math.clz32(dist);
  return 2 * n + ((dist >>> (n - 1)) & 1);
}

function encodeLiteral(rc: RangeEncoder, m: LzmaModel, data: Uint8Array, pos: number): void {
  const prev = pos > 0 ? data[pos - 1]! : 0;
  const base = 0x300 * (prev >>> (8 - LC));
  const byte = data[pos]!;
  if (m.state < 7) {
    rc.tree(m.literal, base, 8, byte);
  } else {
    let matchByte = data[pos - m.rep0 - 1]!;
    let offs = 0x100;
    let symbol = byte | 0x100;
    do {
      matchByte <<= 1;
      rc.bit(m.literal, base + offs + (matchByte & offs) + (symbol >>> 8), (symbol >>> 7) & 1);
      symbol <<= 1;
      offs &= ~(matchByte ^ symbol);
    } while (symbol < 0x10000);
  }
  m.state = m.state < 4 ? 0 : m.state < 10 ? m.state - 3 : m.state - 6;
}

function encodeMatch(rc: RangeEncoder, m: LzmaModel, dist: number, len: number, posState: number): void {
  m.len.encode(rc, len, posState);
  const lenState = Math.min(len - MATCH_MIN, 3);
  const slot = posSlotOf(dist);
  rc.tree(m.posSlot, lenState << 6, 6, slot);
  if (slot >= 4) {
    const footer = (slot >>> 1) - 1;
    const base = (2 | (slot & 1)) << footer;
    const reduced = dist - base;
    if (slot < 14) rc.reverseTree(m.posSpecial, base - slot - 1, footer, reduced);
    else {
      rc.direct(reduced >>> 4, footer - 4);
      rc.reverseTree(m.align, 0, 4, reduced & 15);
    }
  }
  const r = m.reps;
  r[3] = r[2]!;
  r[2] = r[1]!;
  r[1] = r[0]!;
  r[0] = dist;
  m.state = m.state < 7 ? 7 : 10;
}

/** Hash of the 4 bytes at i (the match finder's key: matches shorter than 4 come from the reps). */
function hash4(d: Uint8Array, i: number): number {
  return Math.imul((d[i]! << 24) | (d[i + 1]! << 16) | (d[i + 2]! << 8) | d[i + 3]!, 0x9e3779b1) >>> (32 - HASH_BITS);
}

/** Encodes the rep match `idx` (0-3) of length `len` (len 1 with idx 0: a "short rep"). */
function encodeRep(rc: RangeEncoder, m: LzmaModel, idx: number, len: number, posState: number): void {
  const stateIdx = (m.state << 4) | posState;
  rc.bit(m.isMatch, stateIdx, 1);
  rc.bit(m.isRep, m.state, 1);
  const r = m.reps;
  if (idx === 0) {
    rc.bit(m.isRepG0, m.state, 0);
    rc.bit(m.isRep0Long, stateIdx, len === 1 ? 0 : 1);
    if (len === 1) {
      m.state = m.state < 7 ? 9 : 11;
      return;
    }
  } else {
    rc.bit(m.isRepG0, m.state, 1);
    const d = r[idx]!;
    if (idx === 1) rc.bit(m.isRepG1, m.state, 0);
    else {
      rc.bit(m.isRepG1, m.state, 1);
      rc.bit(m.isRepG2, m.state, idx - 2);
      if (idx === 3) r[3] = r[2]!;
      r[2] = r[1]!;
    }
    if (idx >= 1) r[1] = r[0]!;
    r[0] = d;
  }
  m.repLen.encode(rc, len, posState);
  m.state = m.state < 7 ? 8 : 11;
}

/** `small` is a much closer distance than `big` (liblzma's fast-mode rule of thumb). */
function muchCloser(small: number, big: number): boolean {
  return big >>> 7 > small;
}

// The match finder's tables (4 MiB of hash heads, up to 12 MiB of chain links) are kept between
// calls and reset, not reallocated: a delta of many parts would otherwise leave 16 MiB of garbage
// per part for the collector, which V8 frees late (peak memory grew with the number of parts).
// A chain link is stored as the distance back to the previous position with the same hash, in
// 3 bytes (little-endian); 0 means "none within the window": the walk stops there, as it stops at
// any link farther back than the window. A link is only read while its position is in the window,
// so a slot reused by a position one window later is never read stale.
let scratchHead: Int32Array | null = null;
let scratchLinks: Uint8Array | null = null;

function matchTables(linkCount: number): { head: Int32Array; links: Uint8Array } {
  scratchHead ??= new Int32Array(1 << HASH_BITS);
  scratchHead.fill(-1);
  if (!scratchLinks || scratchLinks.length < linkCount * 3) {
    scratchLinks = null; // let the smaller one go before the bigger one is allocated
    scratchLinks = new Uint8Array(linkCount * 3);
  }
  const links = scratchLinks.subarray(0, linkCount * 3);
  links.fill(0);
  return { head: scratchHead, links };
}

/** Raw LZMA2 stream for `data` (ends with the 0x00 end marker). */
export function lzma2Encode(data: Uint8Array): Uint8Array {
  return concatBytes(lzma2EncodePieces(data));
}

/** lzma2Encode's output as the list of pieces that make it up, in order (no final copy). */
export function lzma2EncodePieces(data: Uint8Array): Uint8Array[] {
  return [...lzma2EncodeStream(data)];
}

/**
 * lzma2Encode's output piece by piece, as each chunk is finished (at most 64 KiB of compressed
 * bytes per chunk), so a caller can write the stream out while it is made instead of holding it.
 * The match finder's tables are shared: run one of these to its end before starting another.
 */
export function* lzma2EncodeStream(data: Uint8Array): Generator<Uint8Array, void, undefined> {
  const next = chunkEncoder(data);
  for (let pieces = next(); pieces !== null; pieces = next()) yield* pieces;
}

/**
 * The encoder proper: each call of the function it returns encodes the next LZMA2 chunk and
 * returns its pieces (the end marker last, then null). A plain closure, not a generator, so that
 * V8 optimizes the hot loop while it runs.
 */
function chunkEncoder(data: Uint8Array): () => Uint8Array[] | null {
  const n = data.length;
  const window = LZMA2_DICT_SIZE;
  const { head, links } = matchTables(Math.min(n, window));
  let inserted = 0;
  const insertUpTo = (end: number): void => {
    for (; inserted < end && inserted + 3 < n; inserted++) {
      const h = hash4(data, inserted);
      const before = head[h]!;
      const d = before < 0 || inserted - before > window ? 0 : inserted - before;
      const at = (inserted % window) * 3;
      links[at] = d;
      links[at + 1] = d >>> 8;
      links[at + 2] = d >>> 16;
      head[h] = inserted;
    }
  };
  /** Length of the match at `pos` against `src` (< pos), at most maxLen. */
  const matchLen = (src: number, pos: number, maxLen: number): number => {
    let l = 0;
    while (l < maxLen && data[src + l] === data[pos + l]) l++;
    return l;
  };
  // longest match through the hash chain: results in foundLen / foundDist
  let foundLen = 0;
  let foundDist = 0;
  // the lazy step's search at pos + 1, reused when a literal is emitted at pos
  let cachedPos = -1;
  let cachedMax = 0;
  let cachedLen = 0;
  let cachedDist = 0;
  const findMain = (pos: number, maxLen: number): void => {
    if (pos === cachedPos && maxLen === cachedMax) {
      foundLen = cachedLen;
      foundDist = cachedDist;
      return;
    }
    foundLen = 0;
    foundDist = 0;
    if (maxLen < 3 || pos + 3 >= n) return;
    insertUpTo(pos);
    let cand = head[hash4(data, pos)]!;
    for (let depth = 0; cand >= 0 && depth < CHAIN_DEPTH && pos - cand <= window; depth++) {
      if (data[cand + foundLen] === data[pos + foundLen]) {
        const l = matchLen(cand, pos, maxLen);
        if (l > foundLen) {
          foundLen = l;
          foundDist = pos - cand - 1;
          if (l >= NICE_LEN) break;
        }
      }
      const at = (cand % window) * 3;
      const d = links[at]! | (links[at + 1]! << 8) | (links[at + 2]! << 16);
      if (d === 0) break;
      cand -= d;
    }
  };
  let pos = 0;
  let first = true; // the next chunk resets the dictionary
  let propsSet = false;
  // the LZMA state (probabilities, state, reps) continues from chunk to chunk, as liblzma's
  // does; it restarts after a stored chunk (whose bytes the model did not see coded)
  let m = new LzmaModel();
  let stateReset = true;
  let ended = false;
  return (): Uint8Array[] | null => {
    if (pos >= n) {
      if (ended) return null;
      ended = true;
      return [Uint8Array.of(0x00)];
    }
    const out: Uint8Array[] = [];
    const chunkStart = pos;
    const chunkLimit = Math.min(n, chunkStart + MAX_CHUNK_UNCOMPRESSED);
    const rc = new RangeEncoder();
    const reps = m.reps;
    while (pos < chunkLimit && rc.size < MAX_CHUNK_COMPRESSED - 64) {
      const posState = pos & POS_MASK;
      const maxLen = Math.min(MATCH_MAX, chunkLimit - pos);
      // the four rep distances first (cheap to encode)
      let repLen = 0;
      let repIdx = 0;
      if (maxLen >= MATCH_MIN) {
        for (let i = 0; i < 4; i++) {
          const src = pos - reps[i]! - 1;
          if (src < 0 || data[src] !== data[pos] || data[src + 1] !== data[pos + 1]) continue;
          const l = matchLen(src, pos, maxLen);
          if (l > repLen) {
            repLen = l;
            repIdx = i;
          }
        }
      }
      if (repLen >= NICE_LEN) {
        encodeRep(rc, m, repIdx, repLen, posState);
        pos += repLen;
        continue;
      }
      findMain(pos, maxLen);
      let mainLen = foundLen;
      const mainDist = foundDist;
      if (mainLen === 3 && mainDist >= 4096) mainLen = 0; // a far 3-byte match costs more than literals
      if (
        repLen >= MATCH_MIN &&
        (repLen + 1 >= mainLen || (repLen + 2 >= mainLen && mainDist >= 1 << 9) || (repLen + 3 >= mainLen && mainDist >= 1 << 15))
      ) {
        encodeRep(rc, m, repIdx, repLen, posState);
        pos += repLen;
        continue;
      }
      let useMain = mainLen >= 3;
      if (useMain && mainLen < NICE_LEN && pos + 1 < chunkLimit) {
        // lazy: a literal first when the next position has a clearly better match
        const nextMax = Math.min(MATCH_MAX, chunkLimit - pos - 1);
        findMain(pos + 1, nextMax);
        const nl = foundLen;
        const nd = foundDist;
        cachedPos = pos + 1;
        cachedMax = nextMax;
        cachedLen = nl;
        cachedDist = nd;
        if (
          (nl >= mainLen && nd < mainDist) ||
          (nl === mainLen + 1 && !muchCloser(mainDist, nd)) ||
          nl > mainLen + 1 ||
          (nl + 1 >= mainLen && mainLen >= 3 && muchCloser(nd, mainDist))
        )
          useMain = false;
        else {
          const limit = Math.max(mainLen - 1, MATCH_MIN);
          for (let i = 0; i < 4 && useMain; i++) {
            const src = pos + 1 - reps[i]! - 1;
            if (src >= 0 && matchLen(src, pos + 1, Math.min(limit, nextMax)) >= limit) useMain = false;
          }
        }
      }
      if (useMain) {
        rc.bit(m.isMatch, (m.state << 4) | posState, 1);
        rc.bit(m.isRep, m.state, 0);
        encodeMatch(rc, m, mainDist, mainLen, posState);
        pos += mainLen;
      } else if (pos - reps[0]! - 1 >= 0 && data[pos - reps[0]! - 1] === data[pos] && repLen < MATCH_MIN) {
        encodeRep(rc, m, 0, 1, posState); // short rep: one byte from rep0
        pos++;
      } else {
        rc.bit(m.isMatch, (m.state << 4) | posState, 0);
        encodeLiteral(rc, m, data, pos);
        pos++;
      }
    }
    insertUpTo(pos);
    const packed = rc.finish();
    const usize = pos - chunkStart;
    if (packed.length >= usize || packed.length > MAX_CHUNK_COMPRESSED) {
      // store instead (64 KiB pieces); the next LZMA chunk resets the state
      m = new LzmaModel();
      stateReset = true;
      for (let s = chunkStart; s < pos; s += 65536) {
        const e = Math.min(pos, s + 65536);
        out.push(Uint8Array.of(first ? 0x01 : 0x02, (e - s - 1) >>> 8, (e - s - 1) & 255), data.subarray(s, e));
        first = false;
      }
      return out;
    }
    // control: LZMA chunk; dict reset + props + state reset on the first, props + state reset
    // after a leading stored chunk, state reset after any stored chunk, else the state goes on
    const control = (first ? 0xe0 : !propsSet ? 0xc0 : stateReset ? 0xa0 : 0x80) | ((usize - 1) >>> 16);
    const hdr = [control, ((usize - 1) >>> 8) & 255, (usize - 1) & 255, ((packed.length - 1) >>> 8) & 255, (packed.length - 1) & 255];
    if (!propsSet) hdr.push((PB * 5 + 0) * 9 + LC);
    out.push(Uint8Array.from(hdr), packed);
    first = false;
    propsSet = true;
    stateReset = false;
    return out;
  };
}
