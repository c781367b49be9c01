// A streaming bzip2 decoder in plain TypeScript (no npm decoder is runtime-neutral), for rpm
// payloads written with `w9.bzdio`. Follows the format bzip2 1.0 writes: stream header `BZh1-9`,
// blocks (magic 0x314159265359, CRC, origPtr, symbol map, 2–6 Huffman tables chosen per 50 symbols
// by MTF-coded selectors, RUNA/RUNB zero runs, MTF, inverse Burrows–Wheeler, the initial
// run-length stage), end of stream (magic 0x177245385090 + combined CRC); concatenated streams are
// accepted. Every count is range-checked against the block size the header announces; block and
// stream CRCs are verified. Input is buffered only until a whole block has arrived (≤ ~1 MiB
// compressed at level 9); a decoded block's output is handed out by drain() a few MiB at a time
// (a block of runs can expand to ~45 MiB), to the sink in chunks of at most 64 KiB.

import { BufferedDecoder } from './buffered-decoder.ts';
import { RpmError, RpmErrorCode } from './errors.ts';

const BLOCK_MAGIC_HI = 0x314159;
const BLOCK_MAGIC_LO = 0x265359;
const EOS_MAGIC_HI = 0x177245;
const EOS_MAGIC_LO = 0x385090;
const MAX_GROUPS = 6;
const MAX_ALPHA = 258;
const MAX_CODE_LEN = 20;
const MAX_SELECTORS = 18002;
const GROUP_SIZE = 50;
const OUT_CHUNK = 64 * 1024;

/** Thrown internally when a block needs more input than has arrived. */
class NeedMore {}
const NEED_MORE = new NeedMore();

const CRC_TABLE = (() => {
  const t = new Int32Array(256);
  for (let i = 0; i < 256; i++) {
    let c = i << 24;
    for (let k = 0; k < 8; k++) c = c & 0x80000000 ? (c << 1) ^ 0x04c11db7 : c << 1;
    t[i] = c;
  }
  return t;
})();

/** Canonical Huffman decoding table of one coding group. */
interface HuffTable {
  minLen: number;
  maxLen: number;
  /** first code of each length */
  first: Int32Array;
  /** number of codes of each length */
  count: Int32Array;
  /** index into perm of each length's first code */
  offset: Int32Array;
  perm: Uint16Array;
}

function buildTable(lens: Uint8Array, alphaSize: number): HuffTable {
  let minLen = 32;
  let maxLen = 0;
  const count = new Int32Array(MAX_CODE_LEN + 2);
  for (let i = 0; i < alphaSize; i++) {
    const l = lens[i]!;
    count[l]!++;
    if (l < minLen) minLen = l;
    if (l > maxLen) maxLen = l;
  }
  const offset = new Int32Array(MAX_CODE_LEN + 2);
  const first = new Int32Array(MAX_CODE_LEN + 2);
  let code = 0;
  let idx = 0;
  for (let l = 1; l <= MAX_CODE_LEN; l++) {
    first[l] = code;
    offset[l] = idx;
    code = (code + count[l]!) << 1;
    idx += count[l]!;
  }
  const perm = new Uint16Array(alphaSize);
  const fill = offset.slice();
  for (let i = 0; i < alphaSize; i++) perm[fill[lens[i]!]!++] = i;
  return { minLen, maxLen, first, count, offset, perm };
}

/** bzip2 decoder fed with push(); calls `sink` with decoded bytes. */
export class Bzip2Decoder extends BufferedDecoder {
  protected readonly kind = 'bzip2';
  // bit reader state (the byte position is the base's pos)
  private bitBuf = 0;
  private bitCount = 0;
  private state: 'header' | 'block' | 'done-stream' = 'header';
  private blockSize = 0;
  private streamCrc = 0;
  private tt = new Uint32Array(0);
  private threshold = 0;
  private readonly out = new Uint8Array(OUT_CHUNK);
  private outLen = 0;
  /** a decoded block whose output drain() has not finished giving */
  private rle: { tPos: number; i: number; nblock: number; crc: number; last: number; run: number; blockCrc: number } | null = null;

  constructor(
    private readonly sink: (b: Uint8Array) => void,
    pkg: string,
  ) {
    super(pkg);
  }

  protected run(): void {
    for (;;) {
      if (this.rle !== null) return;
      const avail = this.len - this.pos;
      if (!this.final && avail < this.threshold) return;
      const save = { pos: this.pos, bitBuf: this.bitBuf, bitCount: this.bitCount };
      try {
        if (this.state === 'header' || this.state === 'done-stream') {
          if (this.state === 'done-stream') {
            // after a stream: end of input, or another concatenated stream
            this.bitBuf = 0;
            this.bitCount = 0;
            if (this.pos >= this.len) {
              if (this.final) return;
              this.threshold = 4;
              return;
            }
          }
          this.readStreamHeader();
          this.state = 'block';
          this.threshold = this.blockSize + (this.blockSize >> 2) + 8192;
        } else {
          const more = this.readBlock();
          if (!more) {
            this.state = 'done-stream';
            this.threshold = 0;
          }
          this.flushOut();
        }
      } catch (e) {
        if (e !== NEED_MORE) throw e;
        this.pos = save.pos;
        this.bitBuf = save.bitBuf;
        this.bitCount = save.bitCount;
        this.outLen = 0;
        if (this.final) throw new RpmError(RpmErrorCode.TRUNCATED, this.pkg, 'bzip2 payload is truncated');
        if (avail > 4 * 1024 * 1024 + 2 * this.blockSize) throw this.err('a block is larger than any bzip2 block can be');
        this.threshold = avail + 64 * 1024;
        return;
      }
      if (this.state === 'done-stream' && this.pos >= this.len && this.final) return;
    }
  }

  private bits(n: number): number {
    while (this.bitCount < n) {
      if (this.pos >= this.len) throw NEED_MORE;
      this.bitBuf = ((this.bitBuf << 8) | this.buf[this.pos++]!) >>> 0;
      this.bitCount += 8;
    }
    this.bitCount -= n;
    return (this.bitBuf >>> this.bitCount) & ((1 << n) - 1);
  }

  private bit(): number {
    if (this.bitCount === 0) {
      if (this.pos >= this.len) throw NEED_MORE;
      this.bitBuf = this.buf[this.pos++]!;
      this.bitCount = 8;
    }
    this.bitCount--;
    return (this.bitBuf >>> this.bitCount) & 1;
  }

  private readStreamHeader(): void {
    const b = this.bits(8);
    const z = this.bits(8);
    const h = this.bits(8);
    const level = this.bits(8);
    if (b !== 0x42 || z !== 0x5a || h !== 0x68) throw this.err('bad stream header');
    if (level < 0x31 || level > 0x39) throw this.err(`bad block size level ${level}`);
    this.blockSize = (level - 0x30) * 100000;
    if (this.tt.length < this.blockSize) this.tt = new Uint32Array(this.blockSize);
    this.streamCrc = 0;
  }

  /** Decodes one block (true) or the end-of-stream marker (false). */
  private readBlock(): boolean {
    const hi = this.bits(24);
    const lo = this.bits(24);
    if (hi === EOS_MAGIC_HI && lo === EOS_MAGIC_LO) {
      const crc = ((this.bits(16) << 16) | this.bits(16)) >>> 0;
      if (crc !== this.streamCrc) throw this.err('stream CRC mismatch');
      this.bitCount -= this.bitCount % 8; // streams end on a byte boundary
      this.bitCount = 0;
      return false;
    }
    if (hi !== BLOCK_MAGIC_HI || lo !== BLOCK_MAGIC_LO) throw this.err('bad block magic');
    const blockCrc = ((this.bits(16) << 16) | this.bits(16)) >>> 0;
    if (this.bit()) throw new RpmError(RpmErrorCode.UNSUPPORTED, this.pkg, 'bzip2 randomised blocks (bzip2 < 0.9.5) are not supported');
    const origPtr = this.bits(24);

    // symbol map
    const used = this.bits(16);
    const seqToUnseq = new Uint8Array(256);
    let nInUse = 0;
    for (let i = 0; i < 16; i++) {
      if (!(used & (0x8000 >>> i))) continue;
      const m = this.bits(16);
      for (let j = 0; j < 16; j++) if (m & (0x8000 >>> j)) seqToUnseq[nInUse++] = i * 16 + j;
    }
    if (nInUse === 0) throw this.err('block uses no symbols');
    const alphaSize = nInUse + 2;

    const nGroups = this.bits(3);
    if (nGroups < 2 || nGroups > MAX_GROUPS) throw this.err(`bad number of Huffman groups ${nGroups}`);
    const nSelectors = this.bits(15);
    if (nSelectors < 1) throw this.err('no selectors');
    const selectorMtf = new Uint8Array(Math.min(nSelectors, MAX_SELECTORS));
    for (let i = 0; i < nSelectors; i++) {
      let j = 0;
      while (this.bit()) if (++j >= nGroups) throw this.err('bad selector');
      if (i < MAX_SELECTORS) selectorMtf[i] = j;
    }
    const pos = [0, 1, 2, 3, 4, 5];
    const selectors = new Uint8Array(selectorMtf.length);
    for (let i = 0; i < selectorMtf.length; i++) {
      let v = selectorMtf[i]!;
      const tmp = pos[v]!;
      for (; v > 0; v--) pos[v] = pos[v - 1]!;
      pos[0] = tmp;
      selectors[i] = tmp;
    }

    const tables: HuffTable[] = [];
    const lens = new Uint8Array(MAX_ALPHA);
    for (let t = 0; t < nGroups; t++) {
      let curr = this.bits(5);
      for (let i = 0; i < alphaSize; i++) {
        for (;;) {
          if (curr < 1 || curr > MAX_CODE_LEN) throw this.err('bad Huffman code length');
          if (!this.bit()) break;
          curr += this.bit() ? -1 : 1;
        }
        lens[i] = curr;
      }
      tables.push(buildTable(lens, alphaSize));
    }

    // MTF/Huffman decode into tt (low byte = symbol)
    const tt = this.tt;
    const unzftab = new Int32Array(256);
    const nblock = this.decodeSymbols(tables, selectors, seqToUnseq, nInUse, unzftab);
    if (origPtr >= nblock) throw this.err('origPtr out of range');

    // inverse BWT: tt[i] high 24 bits = link
    const cftab = new Int32Array(257);
    for (let i = 0; i < 256; i++) cftab[i + 1] = cftab[i]! + unzftab[i]!;
    for (let i = 0; i < nblock; i++) {
      const uc = tt[i]! & 0xff;
      tt[cftab[uc]!] = (tt[cftab[uc]!]! | (i << 8)) >>> 0;
      cftab[uc]!++;
    }
    let tPos = tt[origPtr]! >>> 8;

    // the initial RLE is undone lazily by drain(), a few MiB at a time
    this.rle = { tPos, i: 0, nblock, crc: -1, last: -1, run: 0, blockCrc };
    return true;
  }

  /** Huffman + RUNA/RUNB + MTF decoding of one block's symbols into tt; returns the block length. */
  private decodeSymbols(tables: HuffTable[], selectors: Uint8Array, seqToUnseq: Uint8Array, nInUse: number, unzftab: Int32Array): number {
    const tt = this.tt;
    const limit = this.blockSize;
    const mtf = new Uint8Array(256);
    for (let i = 0; i < 256; i++) mtf[i] = i;
    const EOB = nInUse + 1;
    let nblock = 0;
    let groupNo = -1;
    let groupPos = 0;
    let table = tables[0]!;
    let runLen = 0;
    let runBit = 1;
    for (;;) {
      if (groupPos === 0) {
        groupNo++;
        if (groupNo >= selectors.length) throw this.err('ran out of selectors');
        table = tables[selectors[groupNo]!]!;
        groupPos = GROUP_SIZE;
      }
      groupPos--;
      // decode one symbol
      let len = table.minLen;
      let code = this.bits(len);
      let sym = -1;
      for (;;) {
        const c = code - table.first[len]!;
        if (c >= 0 && c < table.count[len]!) {
          sym = table.perm[table.offset[len]! + c]!;
          break;
        }
        if (++len > table.maxLen) throw this.err('bad Huffman code');
        code = (code << 1) | this.bit();
      }
      if (sym <= 1) {
        // RUNA / RUNB: bijective base-2 run length of the front symbol
        runLen += (sym + 1) * runBit;
        runBit <<= 1;
        if (runLen > limit) throw this.err('run exceeds the block size');
        continue;
      }
      if (runLen > 0) {
        if (nblock + runLen > limit) throw this.err('block exceeds its declared size');
        const uc = seqToUnseq[mtf[0]!]!;
        unzftab[uc] += runLen;
        tt.fill(uc, nblock, nblock + runLen);
        nblock += runLen;
        runLen = 0;
        runBit = 1;
      }
      if (sym === EOB) return nblock;
      if (nblock >= limit) throw this.err('block exceeds its declared size');
      // MTF: move index sym-1 to the front
      let v = sym - 1;
      const b = mtf[v]!;
      if (v > 16) mtf.copyWithin(1, 0, v);
      else for (; v > 0; v--) mtf[v] = mtf[v - 1]!;
      mtf[0] = b;
      const uc = seqToUnseq[b]!;
      unzftab[uc]++;
      tt[nblock++] = uc;
    }
  }

  /** True while a decoded block still has output to give (call drain()). */
  pending(): boolean {
    return this.rle !== null;
  }

  /**
   * Emits about `limit` more bytes of the current block (walking the BWT links and undoing the
   * initial RLE); at the block's end checks its CRC and goes on decoding buffered input.
   */
  drain(limit: number): void {
    const r = this.rle;
    if (r === null) return;
    const tt = this.tt;
    let { tPos, i, crc, last, run } = r;
    const out = this.out;
    let n = this.outLen;
    let emitted = 0;
    for (; i < r.nblock && emitted < limit; i++) {
      tPos = tt[tPos]!;
      const ch = tPos & 0xff;
      tPos >>>= 8;
      if (run === 4) {
        for (let k = 0; k < ch; k++) {
          crc = (crc << 8) ^ CRC_TABLE[((crc >>> 24) ^ last) & 0xff]!;
          out[n++] = last;
          if (n === OUT_CHUNK) {
            this.outLen = n;
            this.flushOut();
            n = 0;
          }
        }
        emitted += ch;
        run = 0;
        last = -1;
        continue;
      }
      if (ch === last) run++;
      else {
        last = ch;
        run = 1;
      }
      crc = (crc << 8) ^ CRC_TABLE[((crc >>> 24) ^ ch) & 0xff]!;
      out[n++] = ch;
      emitted++;
      if (n === OUT_CHUNK) {
        this.outLen = n;
        this.flushOut();
        n = 0;
      }
    }
    this.outLen = n;
    this.flushOut();
    if (i < r.nblock) {
      Object.assign(r, { tPos, i, crc, last, run });
      return;
    }
    this.rle = null;
    const done = ~crc >>> 0;
    if (done !== r.blockCrc) throw this.err('block CRC mismatch');
    this.streamCrc = (((this.streamCrc << 1) | (this.streamCrc >>> 31)) ^ done) >>> 0;
    this.run();
  }

  private flushOut(): void {
    if (this.outLen === 0) return;
    this.sink(this.out.slice(0, this.outLen));
    this.outLen = 0;
  }
}
