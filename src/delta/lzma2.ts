// A small, deterministic LZMA2 encoder (pure TypeScript, runs everywhere) for compressing
// static-delta parts: hash-chain match finder over a 4 MiB window, greedy parsing with rep0
// matches, lc=3 lp=0 pb=2. Output is a raw LZMA2 stream (chunks of at most 2 MiB of input and
// 64 KiB of output, each with a fresh LZMA state over a continuing dictionary; chunks that do
// not shrink are stored). It trades ratio for simplicity: typically within 10-25 % of xz -6.

/** Dictionary size (and match window): 4 MiB, LZMA2 property byte 20. */
export const LZMA2_DICT_SIZE = 1 << 22;
export const LZMA2_DICT_PROP = 20;

const MAX_CHUNK_UNCOMPRESSED = 1 << 21;
const MAX_CHUNK_COMPRESSED = 1 << 16;
const MATCH_MIN = 2;
const MATCH_MAX = 273;
const HASH_BITS = 16;
const CHAIN_DEPTH = 16;
const PROB_INIT = 1024;
const PB = 2;
const LC = 3;
const POS_MASK = (1 << PB) - 1;

class RangeEncoder {
  low = 0;
  range = 0xffffffff;
  cache = 0;
  cacheSize = 1;
  out: number[] = [];

  private shiftLow(): void {
    if (this.low < 0xff000000 || this.low >= 0x100000000) {
      const carry = this.low >= 0x100000000 ? 1 : 0;
      let temp = this.cache;
      do {
        this.out.push((temp + carry) & 0xff);
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
    return this.out.length + this.cacheSize;
  }

  finish(): Uint8Array {
    for (let i = 0; i < 5; i++) this.shiftLow();
    return Uint8Array.from(this.out);
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

/** LZMA coder state for one chunk (reset at every chunk). */
class LzmaModel {
  state = 0;
  rep0 = 0;
  readonly isMatch = new Uint16Array(12 << 4).fill(PROB_INIT);
  readonly isRep = new Uint16Array(12).fill(PROB_INIT);
  readonly isRepG0 = new Uint16Array(12).fill(PROB_INIT);
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
  m.rep0 = dist;
  m.state = m.state < 7 ? 7 : 10;
}

function hash3(d: Uint8Array, i: number): number {
  return (((d[i]! << 16) | (d[i + 1]! << 8) | d[i + 2]!) * 2654435761) >>> (32 - HASH_BITS);
}

/** Raw LZMA2 stream for `data` (ends with the 0x00 end marker). */
export function lzma2Encode(data: Uint8Array): Uint8Array {
  const n = data.length;
  const head = new Int32Array(1 << HASH_BITS).fill(-1);
  const window = LZMA2_DICT_SIZE;
  const prev = new Int32Array(Math.min(n, window)).fill(-1);
  const out: Uint8Array[] = [];
  let inserted = 0;
  const insertUpTo = (end: number): void => {
    for (; inserted < end && inserted + 2 < n; inserted++) {
      const h = hash3(data, inserted);
      prev[inserted % window] = head[h]!;
      head[h] = inserted;
    }
  };
  let pos = 0;
  let first = true; // the next chunk resets the dictionary
  let propsSet = false;
  while (pos < n) {
    const chunkStart = pos;
    const chunkLimit = Math.min(n, chunkStart + MAX_CHUNK_UNCOMPRESSED);
    const rc = new RangeEncoder();
    const m = new LzmaModel();
    while (pos < chunkLimit && rc.size < MAX_CHUNK_COMPRESSED - 64) {
      const posState = pos & POS_MASK;
      const stateIdx = (m.state << 4) | posState;
      const maxLen = Math.min(MATCH_MAX, chunkLimit - pos);
      // rep0 first (cheap to encode)
      let repLen = 0;
      if (pos > chunkStart && pos - m.rep0 - 1 >= 0 && maxLen >= MATCH_MIN) {
        const r = pos - m.rep0 - 1;
        while (repLen < maxLen && data[r + repLen] === data[pos + repLen]) repLen++;
      }
      let bestLen = 0;
      let bestDist = 0;
      if (maxLen >= 3 && pos + 2 < n) {
        insertUpTo(pos);
        let cand = head[hash3(data, pos)]!;
        for (let depth = 0; cand >= 0 && depth < CHAIN_DEPTH && pos - cand <= window; depth++) {
          if (data[cand + bestLen] === data[pos + bestLen]) {
            let l = 0;
            while (l < maxLen && data[cand + l] === data[pos + l]) l++;
            if (l > bestLen) {
              bestLen = l;
              bestDist = pos - cand - 1;
              if (l === maxLen) break;
            }
          }
          const next = prev[cand % window]!;
          if (next >= cand) break;
          cand = next;
        }
      }
      if (repLen >= MATCH_MIN && repLen + 1 >= bestLen) {
        rc.bit(m.isMatch, stateIdx, 1);
        rc.bit(m.isRep, m.state, 1);
        rc.bit(m.isRepG0, m.state, 0);
        rc.bit(m.isRep0Long, stateIdx, 1);
        m.repLen.encode(rc, repLen, posState);
        m.state = m.state < 7 ? 8 : 11;
        pos += repLen;
      } else if (bestLen >= 3 && (bestLen > 3 || bestDist < 4096)) {
        rc.bit(m.isMatch, stateIdx, 1);
        rc.bit(m.isRep, m.state, 0);
        encodeMatch(rc, m, bestDist, bestLen, posState);
        pos += bestLen;
      } else {
        rc.bit(m.isMatch, stateIdx, 0);
        encodeLiteral(rc, m, data, pos);
        pos++;
      }
    }
    insertUpTo(pos);
    const packed = rc.finish();
    const usize = pos - chunkStart;
    if (packed.length >= usize || packed.length > MAX_CHUNK_COMPRESSED) {
      // store instead (64 KiB pieces); the next LZMA chunk resets the state anyway
      for (let s = chunkStart; s < pos; s += 65536) {
        const e = Math.min(pos, s + 65536);
        out.push(Uint8Array.of(first ? 0x01 : 0x02, (e - s - 1) >>> 8, (e - s - 1) & 255), data.subarray(s, e));
        first = false;
      }
      continue;
    }
    // control: LZMA chunk, state reset (+ new props + dict reset on the first)
    const control = (first ? 0xe0 : propsSet ? 0xa0 : 0xc0) | ((usize - 1) >>> 16);
    const hdr = [control, ((usize - 1) >>> 8) & 255, (usize - 1) & 255, ((packed.length - 1) >>> 8) & 255, (packed.length - 1) & 255];
    if (!propsSet) hdr.push((PB * 5 + 0) * 9 + LC);
    out.push(Uint8Array.from(hdr), packed);
    first = false;
    propsSet = true;
  }
  out.push(Uint8Array.of(0x00));
  let total = 0;
  for (const c of out) total += c.length;
  const res = new Uint8Array(total);
  let o = 0;
  for (const c of out) {
    res.set(c, o);
    o += c.length;
  }
  return res;
}
