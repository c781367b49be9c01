// The LZMA decoder (range coder, literal/match/rep state machine, length and distance models) and
// its LZMA2 chunk layer, in plain TypeScript: the xz payloads rpm writes use a SHA-256 check that
// the bundled XZ Embedded build refuses, so xz.ts parses the container itself and decodes LZMA2
// here; the same core reads legacy `.lzma` ("LZMA alone") payloads. Follows the LZMA
// specification (lzma-specification.txt in the LZMA SDK); written from the format, not from code.
// Dictionary sizes are capped by the caller before anything is allocated.

import { RpmError, RpmErrorCode } from './errors.ts';

const NUM_STATES = 12;
const POS_STATES_MAX = 16;
const MATCH_MIN_LEN = 2;
const END_POS_MODEL_INDEX = 14;
const NUM_FULL_DISTANCES = 128;
const PROB_INIT = 1024;

/** Length model: choice, choice2, low[16][8], mid[16][8], high[256]. */
const LEN_CHOICE = 0;
const LEN_CHOICE2 = 1;
const LEN_LOW = 2;
const LEN_MID = LEN_LOW + POS_STATES_MAX * 8;
const LEN_HIGH = LEN_MID + POS_STATES_MAX * 8;
const LEN_SIZE = LEN_HIGH + 256;

/** Thrown when a symbol needs input past what is available (the caller supplies more, or fails). */
export class LzmaNeedInput extends Error {}

/** An LZMA decoder over a circular dictionary; the caller drives it chunk by chunk. */
export class LzmaDecoder {
  lc = 3;
  lp = 0;
  pb = 2;
  private readonly dict: Uint8Array;
  /** the dictionary size the stream declared (distances beyond it are refused) */
  private readonly dictSize: number;
  private dictPos = 0;
  /** bytes written into the dictionary since the last dictionary reset, capped at dict.length */
  private dictFull = 0;
  /** total bytes produced since the last dictionary reset (for literal positions) */
  private total = 0;
  private flushPos = 0;
  // models
  private literal = new Uint16Array(0x300 * 16);
  private isMatch = new Uint16Array(NUM_STATES << 4);
  private isRep = new Uint16Array(NUM_STATES);
  private isRepG0 = new Uint16Array(NUM_STATES);
  private isRepG1 = new Uint16Array(NUM_STATES);
  private isRepG2 = new Uint16Array(NUM_STATES);
  private isRep0Long = new Uint16Array(NUM_STATES << 4);
  private posSlot = new Uint16Array(4 << 6);
  private posSpecial = new Uint16Array(1 + NUM_FULL_DISTANCES - END_POS_MODEL_INDEX);
  private align = new Uint16Array(16);
  private lenModel = new Uint16Array(LEN_SIZE);
  private repLenModel = new Uint16Array(LEN_SIZE);
  private state = 0;
  private rep0 = 0;
  private rep1 = 0;
  private rep2 = 0;
  private rep3 = 0;
  /** bytes of a match still to copy (output was limited mid-match) */
  private pendingLen = 0;
  // range coder
  private range = 0;
  private code = 0;
  private in: Uint8Array = new Uint8Array(0);
  private inPos = 0;
  private inEnd = 0;
  /** true once the end marker was decoded */
  endMarker = false;

  /**
   * @param dictSize the stream's dictionary size (already capped by the caller)
   * @param slack extra buffer beyond the dictionary so up to `slack` bytes can be produced between flushes
   */
  constructor(
    dictSize: number,
    slack: number,
    private readonly sink: (b: Uint8Array) => void,
    private readonly pkg: string,
  ) {
    this.dictSize = Math.max(dictSize, 4096);
    this.dict = new Uint8Array(this.dictSize + slack);
    this.resetState();
  }

  err(reason: string): RpmError {
    return new RpmError(RpmErrorCode.PAYLOAD, this.pkg, `xz/lzma payload is corrupt: ${reason}`);
  }

  setProps(props: number): void {
    if (props >= 9 * 5 * 5) throw this.err(`bad LZMA properties byte ${props}`);
    this.lc = props % 9;
    this.lp = Math.floor(props / 9) % 5;
    this.pb = Math.floor(props / 45);
    if (this.lc + this.lp > 4 && this.literal.length < 0x300 << (this.lc + this.lp)) this.literal = new Uint16Array(0x300 << (this.lc + this.lp));
  }

  resetDict(): void {
    this.flush();
    this.dictPos = 0;
    this.dictFull = 0;
    this.total = 0;
    this.flushPos = 0;
  }

  resetState(): void {
    for (const a of [this.literal, this.isMatch, this.isRep, this.isRepG0, this.isRepG1, this.isRepG2, this.isRep0Long, this.posSlot, this.posSpecial, this.align, this.lenModel, this.repLenModel]) a.fill(PROB_INIT);
    this.state = 0;
    this.rep0 = this.rep1 = this.rep2 = this.rep3 = 0;
    this.pendingLen = 0;
  }

  /** Starts the range decoder on `input[pos..end)` (5 init bytes are read). */
  startRange(input: Uint8Array, pos: number, end: number): void {
    if (end - pos < 5) throw new LzmaNeedInput();
    if (input[pos] !== 0) throw this.err('range coder does not start with a zero byte');
    this.code = ((input[pos + 1]! << 24) >>> 0) + (input[pos + 2]! << 16) + (input[pos + 3]! << 8) + input[pos + 4]!;
    this.range = 0xffffffff;
    if (this.code === this.range) throw this.err('bad range coder start');
    this.in = input;
    this.inPos = pos + 5;
    this.inEnd = end;
  }

  /** Points the range decoder at a new input window (same stream, more data). */
  setInput(input: Uint8Array, pos: number, end: number): void {
    this.in = input;
    this.inPos = pos;
    this.inEnd = end;
  }
  get inputPos(): number {
    return this.inPos;
  }
  /** The range coder finished cleanly (LZMA2 chunks must end with code 0). */
  get rangeFinished(): boolean {
    return this.code === 0;
  }

  private bit(probs: Uint16Array, i: number): number {
    const p = probs[i]!;
    const bound = (this.range >>> 11) * p;
    let b: number;
    if (this.code < bound) {
      this.range = bound;
      probs[i] = p + ((2048 - p) >>> 5);
      b = 0;
    } else {
      this.range -= bound;
      this.code -= bound;
      probs[i] = p - (p >>> 5);
      b = 1;
    }
    if (this.range < 0x1000000) {
      if (this.inPos >= this.inEnd) throw new LzmaNeedInput();
      this.range *= 256;
      this.code = this.code * 256 + this.in[this.inPos++]!;
    }
    return b;
  }

  private direct(n: number): number {
    let r = 0;
    for (let i = 0; i < n; i++) {
      this.range = this.range >>> 1;
      let b = 0;
      if (this.code >= this.range) {
        this.code -= this.range;
        b = 1;
      }
      r = r * 2 + b;
      if (this.range < 0x1000000) {
        if (this.inPos >= this.inEnd) throw new LzmaNeedInput();
        this.range *= 256;
        this.code = this.code * 256 + this.in[this.inPos++]!;
      }
    }
    return r;
  }

  private tree(probs: Uint16Array, base: number, bits: number): number {
    let m = 1;
    for (let i = 0; i < bits; i++) m = (m << 1) | this.bit(probs, base + m);
    return m - (1 << bits);
  }

  private reverseTree(probs: Uint16Array, base: number, bits: number): number {
    let m = 1;
    let sym = 0;
    for (let i = 0; i < bits; i++) {
      const b = this.bit(probs, base + m);
      m = (m << 1) | b;
      sym |= b << i;
    }
    return sym;
  }

  private len(model: Uint16Array, posState: number): number {
    if (this.bit(model, LEN_CHOICE) === 0) return this.tree(model, LEN_LOW + posState * 8, 3);
    if (this.bit(model, LEN_CHOICE2) === 0) return 8 + this.tree(model, LEN_MID + posState * 8, 3);
    return 16 + this.tree(model, LEN_HIGH, 8);
  }

  private distance(len: number): number {
    const lenState = len < 3 ? len : 3;
    const slot = this.tree(this.posSlot, lenState << 6, 6);
    if (slot < 4) return slot;
    const n = (slot >>> 1) - 1;
    let dist = (2 + (slot & 1)) * 2 ** n;
    if (slot < END_POS_MODEL_INDEX) return dist + this.reverseTree(this.posSpecial, dist - slot, n);
    dist += this.direct(n - 4) * 16;
    return dist + this.reverseTree(this.align, 0, 4);
  }

  private put(b: number): void {
    this.dict[this.dictPos++] = b;
    if (this.dictPos === this.dict.length) {
      this.flush();
      this.dictPos = 0;
      this.flushPos = 0;
    }
    if (this.dictFull < this.dict.length) this.dictFull++;
    this.total++;
  }

  private getBack(dist: number): number {
    let i = this.dictPos - dist - 1;
    if (i < 0) i += this.dict.length;
    return this.dict[i]!;
  }

  private copyMatch(n: number): number {
    let done = 0;
    const d = this.rep0;
    while (done < n) {
      this.put(this.getBack(d));
      done++;
    }
    return done;
  }

  /** Emits bytes decoded since the last flush. */
  flush(): void {
    if (this.dictPos > this.flushPos) this.sink(this.dict.slice(this.flushPos, this.dictPos));
    this.flushPos = this.dictPos;
  }

  /**
   * Decodes until `limit` more bytes have been produced, the end marker, or input runs out
   * (LzmaNeedInput: the caller restores nothing — call only with enough input for the symbols it
   * asks for, or with the whole chunk). Returns the number of bytes produced.
   */
  decode(limit: number, allowEndMarker: boolean): number {
    let produced = 0;
    if (this.pendingLen > 0) {
      const n = Math.min(this.pendingLen, limit);
      this.copyMatch(n);
      this.pendingLen -= n;
      produced += n;
    }
    const pbMask = (1 << this.pb) - 1;
    const lpMask = (1 << this.lp) - 1;
    while (produced < limit) {
      const posState = this.total & pbMask;
      const st = this.state;
      if (this.bit(this.isMatch, (st << 4) + posState) === 0) {
        const prev = this.dictFull > 0 ? this.getBack(0) : 0;
        const base = 0x300 * (((this.total & lpMask) << this.lc) + (prev >>> (8 - this.lc)));
        let sym = 1;
        if (st >= 7) {
          let match = this.getBack(this.rep0);
          do {
            const mb = (match >>> 7) & 1;
            match <<= 1;
            const b = this.bit(this.literal, base + ((1 + mb) << 8) + sym);
            sym = (sym << 1) | b;
            if (mb !== b) break;
          } while (sym < 0x100);
        }
        while (sym < 0x100) sym = (sym << 1) | this.bit(this.literal, base + sym);
        this.put(sym & 0xff);
        produced++;
        this.state = st < 4 ? 0 : st < 10 ? st - 3 : st - 6;
        continue;
      }
      let len: number;
      if (this.bit(this.isRep, st) === 0) {
        len = this.len(this.lenModel, posState);
        this.state = st < 7 ? 7 : 10;
        const dist = this.distance(len);
        if (dist === 0xffffffff) {
          if (!allowEndMarker) throw this.err('unexpected end marker');
          this.endMarker = true;
          return produced;
        }
        this.rep3 = this.rep2;
        this.rep2 = this.rep1;
        this.rep1 = this.rep0;
        this.rep0 = dist;
      } else {
        if (this.dictFull === 0) throw this.err('repeated match before any data');
        if (this.bit(this.isRepG0, st) === 0) {
          if (this.bit(this.isRep0Long, (st << 4) + posState) === 0) {
            this.state = st < 7 ? 9 : 11;
            this.put(this.getBack(this.rep0));
            produced++;
            continue;
          }
        } else {
          let dist: number;
          if (this.bit(this.isRepG1, st) === 0) dist = this.rep1;
          else {
            if (this.bit(this.isRepG2, st) === 0) dist = this.rep2;
            else {
              dist = this.rep3;
              this.rep3 = this.rep2;
            }
            this.rep2 = this.rep1;
          }
          this.rep1 = this.rep0;
          this.rep0 = dist;
        }
        len = this.len(this.repLenModel, posState);
        this.state = st < 7 ? 8 : 11;
      }
      if (this.rep0 >= this.dictFull || this.rep0 >= this.dictSize) throw this.err(`match distance ${this.rep0 + 1} reaches before the start of the data`);
      const total = len + MATCH_MIN_LEN;
      const n = Math.min(total, limit - produced);
      this.copyMatch(n);
      produced += n;
      this.pendingLen = total - n;
    }
    return produced;
  }

  /** Copies an LZMA2 uncompressed chunk into the dictionary (and output). */
  putUncompressed(data: Uint8Array): void {
    for (let i = 0; i < data.length; i++) this.put(data[i]!);
  }

  get pending(): number {
    return this.pendingLen;
  }
}

/** Dictionary size from an LZMA2 dictionary property byte (0..40). */
export function lzma2DictSize(prop: number): number {
  if (prop > 40) throw new RangeError(`bad LZMA2 dictionary property ${prop}`);
  if (prop === 40) return 0xffffffff;
  return (2 | (prop & 1)) * 2 ** (Math.floor(prop / 2) + 11);
}
