// Streaming decoders for rpm's `xz` and `lzma` payloads. xz: the .xz container (xz-file-format
// 1.1: stream header, blocks with a single LZMA2 filter, block padding, the stream's check —
// none, CRC32, CRC64 or SHA-256, which rpm uses — index and footer, stream padding, concatenated
// streams), every CRC and check verified and the index compared with the blocks decoded. lzma: the
// legacy 13-byte header (properties, dictionary size, uncompressed size) and one LZMA stream.
// Input is buffered only up to one LZMA2 chunk (≤ 64 KiB + header); dictionaries are capped.

import { sha256 } from '@noble/hashes/sha2.js';
import { RpmError, RpmErrorCode } from './errors.ts';
import { LzmaDecoder, LzmaNeedInput, lzma2DictSize } from './lzma.ts';
import { BufferedDecoder } from './buffered-decoder.ts';

/** Largest dictionary accepted (xz -9 uses 64 MiB). */
export const MAX_DICT = 128 * 1024 * 1024;

const CRC32 = (() => {
  const t = new Int32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c;
  }
  return t;
})();
/** CRC-32 (IEEE, as gzip and xz use it), continuing from `crc`. */
export function crc32(b: Uint8Array, crc = 0): number {
  let c = ~crc;
  for (let i = 0; i < b.length; i++) c = CRC32[(c ^ b[i]!) & 0xff]! ^ (c >>> 8);
  return ~c >>> 0;
}

// CRC64 (ECMA-182, reflected) as two 32-bit halves
const CRC64_LO = new Uint32Array(256);
const CRC64_HI = new Uint32Array(256);
{
  const PLO = 0xd7870f42;
  const PHI = 0xc96c5795;
  for (let n = 0; n < 256; n++) {
    let lo = n;
    let hi = 0;
    for (let k = 0; k < 8; k++) {
      const odd = lo & 1;
      lo = ((lo >>> 1) | ((hi & 1) << 31)) >>> 0;
      hi = hi >>> 1;
      if (odd) {
        lo = (lo ^ PLO) >>> 0;
        hi = (hi ^ PHI) >>> 0;
      }
    }
    CRC64_LO[n] = lo;
    CRC64_HI[n] = hi;
  }
}
class Crc64 {
  lo = 0xffffffff;
  hi = 0xffffffff;
  update(b: Uint8Array): void {
    let lo = this.lo;
    let hi = this.hi;
    for (let i = 0; i < b.length; i++) {
      const x = (lo ^ b[i]!) & 0xff;
      lo = ((lo >>> 8) | (hi << 24)) ^ CRC64_LO[x]!;
      hi = (hi >>> 8) ^ CRC64_HI[x]!;
    }
    this.lo = lo >>> 0;
    this.hi = hi >>> 0;
  }
  digest(): Uint8Array {
    const lo = ~this.lo >>> 0;
    const hi = ~this.hi >>> 0;
    return new Uint8Array([lo & 255, (lo >>> 8) & 255, (lo >>> 16) & 255, lo >>> 24, hi & 255, (hi >>> 8) & 255, (hi >>> 16) & 255, hi >>> 24]);
  }
}
class Crc32 {
  c = 0;
  update(b: Uint8Array): void {
    this.c = crc32(b, this.c);
  }
  digest(): Uint8Array {
    const c = this.c;
    return new Uint8Array([c & 255, (c >>> 8) & 255, (c >>> 16) & 255, c >>> 24]);
  }
}

interface Check {
  update(b: Uint8Array): void;
  digest(): Uint8Array;
}
const CHECK_SIZE: Record<number, number> = { 0: 0, 1: 4, 4: 8, 10: 32 };
function makeCheck(type: number): Check | null {
  if (type === 1) return new Crc32();
  if (type === 4) return new Crc64();
  if (type === 10) return sha256.create();
  return null;
}

const le32 = (b: Uint8Array, o: number): number => (b[o]! | (b[o + 1]! << 8) | (b[o + 2]! << 16) | (b[o + 3]! << 24)) >>> 0;

function varint(b: Uint8Array, p: number, end: number): [number, number] | null {
  let v = 0;
  for (let i = 0; i < 9; i++) {
    if (p + i >= end) return null;
    const x = b[p + i]!;
    v += (x & 0x7f) * 2 ** (7 * i);
    if (!(x & 0x80)) {
      if (i > 0 && x === 0) return [-1, 0];
      return [v, i + 1];
    }
  }
  return [-1, 0];
}

type XzState = 'stream' | 'block' | 'chunk' | 'padding' | 'check' | 'index' | 'footer' | 'after';

/** Streaming .xz decoder (LZMA2 filter only, as xz and rpm write). */
export class XzDecoder extends BufferedDecoder {
  protected readonly kind = 'xz';
  private state: XzState = 'stream';
  private checkType = 0;
  private check: Check | null = null;
  private lzma: LzmaDecoder | null = null;
  private dictSize = 0;
  private blockStart = 0;
  private blockHeaderSize = 0;
  private blockCompressed = 0;
  private blockUncompressed = 0;
  private needDictReset = true;
  private records: [number, number][] = [];
  private streamStart = 0;
  private declared = -1;
  private indexSize = 0;
  private consumed = 0;

  constructor(
    private readonly sink: (b: Uint8Array) => void,
    pkg: string,
    private readonly maxOutput: number,
  ) {
    super(pkg);
  }

  private take(n: number): Uint8Array {
    const b = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    this.consumed += n;
    return b;
  }

  private out = (b: Uint8Array): void => {
    this.check?.update(b);
    this.blockUncompressed += b.length;
    this.sink(b);
  };

  protected run(): void {
    for (;;) {
      switch (this.state) {
        case 'stream': {
          if (!this.need(12)) return;
          const h = this.take(12);
          if (h[0] !== 0xfd || h[1] !== 0x37 || h[2] !== 0x7a || h[3] !== 0x58 || h[4] !== 0x5a || h[5] !== 0) throw this.err('bad stream header magic');
          if (h[6] !== 0 || (h[7]! & 0xf0)) throw this.err('unsupported stream flags');
          if (crc32(h.subarray(6, 8)) !== le32(h, 8)) throw this.err('stream header CRC mismatch');
          this.checkType = h[7]!;
          if (CHECK_SIZE[this.checkType] === undefined) throw new RpmError(RpmErrorCode.UNSUPPORTED, this.pkg, `xz check type ${this.checkType} is not supported`);
          this.records = [];
          this.streamStart = this.consumed - 12;
          this.state = 'block';
          break;
        }
        case 'block': {
          if (!this.need(1)) return;
          const size = this.buf[this.pos]!;
          if (size === 0) {
            this.state = 'index';
            break;
          }
          const hs = (size + 1) * 4;
          if (!this.need(hs)) return;
          this.blockStart = this.consumed;
          const h = this.take(hs);
          if (crc32(h.subarray(0, hs - 4)) !== le32(h, hs - 4)) throw this.err('block header CRC mismatch');
          const flags = h[1]!;
          if (flags & 0x3c) throw this.err('reserved block flags set');
          const nFilters = (flags & 3) + 1;
          let p = 2;
          const end = hs - 4;
          this.blockCompressed = -1;
          let declaredUncompressed = -1;
          if (flags & 0x40) {
            const v = varint(h, p, end);
            if (!v || v[0] < 0) throw this.err('bad compressed size');
            this.blockCompressed = v[0];
            p += v[1];
          }
          if (flags & 0x80) {
            const v = varint(h, p, end);
            if (!v || v[0] < 0) throw this.err('bad uncompressed size');
            declaredUncompressed = v[0];
            p += v[1];
          }
          if (nFilters !== 1) throw new RpmError(RpmErrorCode.UNSUPPORTED, this.pkg, `xz filter chains (${nFilters} filters) are not supported`);
          const id = varint(h, p, end);
          if (!id || id[0] !== 0x21) throw new RpmError(RpmErrorCode.UNSUPPORTED, this.pkg, `xz filter ${id ? id[0] : '?'} is not supported (only LZMA2)`);
          p += id[1];
          const ps = varint(h, p, end);
          if (!ps || ps[0] !== 1 || p + ps[1] >= end) throw this.err('bad LZMA2 filter properties');
          p += ps[1];
          const prop = h[p++]!;
          if (prop > 40) throw this.err(`bad LZMA2 dictionary property ${prop}`);
          for (; p < end; p++) if (h[p] !== 0) throw this.err('block header padding is not zero');
          const dict = Math.min(lzma2DictSize(prop), this.maxOutput + 4096);
          if (dict > MAX_DICT) throw new RpmError(RpmErrorCode.CAP, this.pkg, `xz dictionary of ${lzma2DictSize(prop)} bytes exceeds the ${MAX_DICT}-byte cap`);
          if (!this.lzma || dict > this.dictSize) {
            this.lzma = new LzmaDecoder(dict, 0, this.out, this.pkg);
            this.dictSize = dict;
          }
          this.blockHeaderSize = hs;
          this.blockUncompressed = 0;
          this.needDictReset = true;
          this.check = makeCheck(this.checkType);
          this.declared = declaredUncompressed;
          this.state = 'chunk';
          break;
        }
        case 'chunk': {
          if (!this.need(1)) return;
          const c = this.buf[this.pos]!;
          const lz = this.lzma!;
          if (c === 0) {
            this.take(1);
            lz.flush();
            this.state = 'padding';
            break;
          }
          if (c === 1 || c === 2) {
            if (!this.need(3)) return;
            const size = ((this.buf[this.pos + 1]! << 8) | this.buf[this.pos + 2]!) + 1;
            if (!this.need(3 + size)) return;
            if (c === 1) lz.resetDict();
            else if (this.needDictReset) throw this.err('first LZMA2 chunk does not reset the dictionary');
            this.needDictReset = false;
            this.take(3);
            lz.putUncompressed(this.take(size));
            lz.flush();
            break;
          }
          if (c < 0x80) throw this.err(`bad LZMA2 control byte 0x${c.toString(16)}`);
          const reset = (c >>> 5) & 3;
          const hlen = reset >= 2 ? 6 : 5;
          if (!this.need(hlen)) return;
          const b = this.buf;
          const p = this.pos;
          const unpacked = ((c & 0x1f) << 16) + (b[p + 1]! << 8) + b[p + 2]! + 1;
          const packed = (b[p + 3]! << 8) + b[p + 4]! + 1;
          if (!this.need(hlen + packed)) return;
          if (reset === 3) lz.resetDict();
          else if (this.needDictReset) throw this.err('first LZMA2 chunk does not reset the dictionary');
          this.needDictReset = false;
          if (reset >= 2) lz.setProps(b[p + 5]!);
          if (lz.lc + lz.lp > 4) throw this.err('LZMA2 properties with lc + lp > 4');
          if (reset >= 1) lz.resetState();
          this.take(hlen);
          const data = this.take(packed);
          try {
            lz.startRange(data, 0, data.length);
            const got = lz.decode(unpacked, false);
            if (got !== unpacked || lz.pending !== 0) throw this.err('LZMA2 chunk decodes to the wrong size');
          } catch (e) {
            if (e instanceof LzmaNeedInput) throw this.err('LZMA2 chunk ends early');
            throw e;
          }
          if (lz.inputPos !== data.length || !lz.rangeFinished) throw this.err('LZMA2 chunk has trailing data');
          lz.flush();
          break;
        }
        case 'padding': {
          const unpadded = this.consumed - this.blockStart;
          const pad = (4 - (unpadded % 4)) % 4;
          const cs = CHECK_SIZE[this.checkType]!;
          if (!this.need(pad + cs)) return;
          for (const x of this.take(pad)) if (x !== 0) throw this.err('block padding is not zero');
          const stored = this.take(cs);
          if (this.check) {
            const d = this.check.digest();
            for (let i = 0; i < cs; i++) if (d[i] !== stored[i]) throw this.err(`block ${['', 'CRC32', '', '', 'CRC64'][this.checkType] || 'SHA-256'} check mismatch`);
          }
          const compressed = unpadded - this.blockHeaderSize;
          if (this.blockCompressed >= 0 && this.blockCompressed !== compressed) throw this.err('block compressed size differs from its header');
          const declared = this.declared;
          if (declared >= 0 && declared !== this.blockUncompressed) throw this.err('block uncompressed size differs from its header');
          this.records.push([unpadded + cs, this.blockUncompressed]);
          this.state = 'block';
          break;
        }
        case 'index': {
          // indicator, record count, one (unpadded, uncompressed) pair per block, padding, CRC32
          const b = this.buf;
          const end = this.len;
          let p = this.pos + 1;
          const n = varint(b, p, end);
          if (!n) return void this.need(this.avail + 1);
          if (n[0] !== this.records.length) throw this.err(`index lists ${n[0]} blocks, the stream holds ${this.records.length}`);
          p += n[1];
          for (const [u, s] of this.records) {
            const a = varint(b, p, end);
            if (!a) return void this.need(this.avail + 1);
            p += a[1];
            const c = varint(b, p, end);
            if (!c) return void this.need(this.avail + 1);
            p += c[1];
            if (a[0] !== u || c[0] !== s) throw this.err('index record does not match the block');
          }
          const size = p - this.pos;
          const padded = size + ((4 - (size % 4)) % 4) + 4;
          if (!this.need(padded)) return;
          const idx = this.take(padded);
          for (let i = size; i < padded - 4; i++) if (idx[i] !== 0) throw this.err('index padding is not zero');
          if (crc32(idx.subarray(0, padded - 4)) !== le32(idx, padded - 4)) throw this.err('index CRC mismatch');
          this.indexSize = padded;
          this.state = 'footer';
          break;
        }
        case 'footer': {
          if (!this.need(12)) return;
          const f = this.take(12);
          if (f[10] !== 0x59 || f[11] !== 0x5a) throw this.err('bad stream footer magic');
          if (crc32(f.subarray(4, 10)) !== le32(f, 0)) throw this.err('stream footer CRC mismatch');
          if ((le32(f, 4) + 1) * 4 !== this.indexSize) throw this.err('stream footer backward size does not match the index');
          if (f[8] !== 0 || f[9] !== this.checkType) throw this.err('stream footer flags differ from the header');
          void this.streamStart;
          this.state = 'after';
          break;
        }
        case 'after': {
          // stream padding (zeros, multiple of 4) or another stream
          if (this.avail === 0) return;
          if (this.buf[this.pos] === 0) {
            if (!this.need(4)) return;
            for (const x of this.take(4)) if (x !== 0) throw this.err('bad stream padding');
            break;
          }
          this.state = 'stream';
          break;
        }
      }
    }
  }

  /** True once at least one complete stream was decoded and nothing is pending. */
  get done(): boolean {
    return this.state === 'after';
  }
}

/** Streaming legacy .lzma ("LZMA alone") decoder. */
export class LzmaAloneDecoder extends BufferedDecoder {
  protected readonly kind = 'lzma';
  private lz: LzmaDecoder | null = null;
  private remaining = -1;
  private started = false;
  private finished = false;

  constructor(
    private readonly sink: (b: Uint8Array) => void,
    pkg: string,
    private readonly maxOutput: number,
  ) {
    super(pkg);
  }

  protected run(): void {
    if (this.finished) {
      if (this.avail > 0) throw this.err('data after the end of the stream');
      return;
    }
    if (!this.lz) {
      if (!this.need(13)) return;
      const h = this.buf.subarray(this.pos, this.pos + 13);
      const props = h[0]!;
      const dict = le32(h, 1);
      const lo = le32(h, 5);
      const hi = le32(h, 9);
      if (hi === 0xffffffff && lo === 0xffffffff) this.remaining = -1;
      else if (hi > 0x1fffff) throw this.err('uncompressed size is too large');
      else this.remaining = hi * 2 ** 32 + lo;
      if (this.remaining > this.maxOutput) throw new RpmError(RpmErrorCode.CAP, this.pkg, `lzma payload declares ${this.remaining} bytes, more than the ${this.maxOutput} allowed`);
      const d = Math.min(dict, this.maxOutput + 4096);
      if (d > MAX_DICT) throw new RpmError(RpmErrorCode.CAP, this.pkg, `lzma dictionary of ${dict} bytes exceeds the ${MAX_DICT}-byte cap`);
      this.lz = new LzmaDecoder(d, 0, this.sink, this.pkg);
      this.lz.setProps(props);
      this.pos += 13;
    }
    const lz = this.lz;
    // each symbol reads at most ~52 bytes: unless all input is there, decode symbol by symbol
    // while at least MARGIN bytes remain, so no symbol can run out of input
    const MARGIN = 64;
    if (!this.started) {
      if (!this.need(5)) return;
      lz.startRange(this.buf, this.pos, this.len);
      this.pos = lz.inputPos;
      this.started = true;
    }
    for (;;) {
      lz.setInput(this.buf, this.pos, this.len);
      if (!this.final && this.len - this.pos <= MARGIN) return;
      const want = this.remaining < 0 ? 64 * 1024 : Math.min(this.remaining, 64 * 1024);
      let got: number;
      try {
        got = this.final ? lz.decode(want, true) : this.decodeSome(lz, this.len - MARGIN, want);
      } catch (e) {
        if (e instanceof LzmaNeedInput) throw new RpmError(RpmErrorCode.TRUNCATED, this.pkg, 'lzma payload is truncated');
        throw e;
      }
      this.pos = lz.inputPos;
      if (this.remaining >= 0) this.remaining -= got;
      lz.flush();
      if (lz.endMarker || this.remaining === 0) {
        this.finished = true;
        return;
      }
      if (this.final && got === 0) throw new RpmError(RpmErrorCode.TRUNCATED, this.pkg, 'lzma payload is truncated');
    }
  }

  private decodeSome(lz: LzmaDecoder, window: number, want: number): number {
    let got = 0;
    // decode in small steps so the input position never passes the safety window
    while (got < want && lz.inputPos < window && !lz.endMarker) got += lz.decode(1, true);
    return got;
  }
}
