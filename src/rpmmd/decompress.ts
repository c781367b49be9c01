// Decompression of rpm-md metadata files as streams, chosen by magic bytes (and the file name's
// extension when the magic says nothing), as librepo/libsolv's solv_xfopen do: gzip (the host's native decoder when it has one, else fflate,
// streaming, concatenated members accepted, trailer CRC/size checked), xz (xz-decompress, XZ
// Embedded in WASM, whose own integrity check runs), zstd (fzstd, streaming; every frame's window
// is checked against zstd's default decoder limit before fzstd allocates it) and bzip2 (the RPM
// reader's decoder, src/rpm/bzip2.ts). Output is capped: a bomb is refused after
// at most `maxOutput` bytes, and each input slice handed to a decoder is small so no single step
// can balloon.

import type { DeflateProvider } from '../host.ts';
import { Bzip2Decoder } from '../rpm/bzip2.ts';
import { XylemError } from '../util/errors.ts';
import { concatBytes } from '../util/bytes.ts';
import { crc32 } from '../delta/xz.ts';

/** One buffer of `parts` (the part itself when there is one). */
const concat1 = (parts: Uint8Array[]): Uint8Array => (parts.length === 1 ? parts[0]! : concatBytes(parts));

export type Compression = 'none' | 'gz' | 'xz' | 'zst' | 'bz2';

/** Compressed bytes given to a decoder per step (bounds the output of one step). */
const GZ_SLICE = 16 * 1024;
const ZST_SLICE = 4 * 1024;
/** zstd's default window limit for decoders (ZSTD_WINDOWLOG_LIMIT_DEFAULT = 27). */
const ZSTD_MAX_WINDOW = 1 << 27;

/** The compression a file name's extension names (`.gz`, `.xz`, `.zst`, `.bz2`), or null. */
export function compressionFromName(name: string): Compression | null {
  if (typeof name !== 'string') throw new TypeError('compressionFromName: name must be a string');
  const m = /\.(gz|gzip|xz|zst|zstd|bz2|xml)$/i.exec(name);
  if (!m) return null;
  const ext = m[1]!.toLowerCase();
  if (ext === 'gz' || ext === 'gzip') return 'gz';
  if (ext === 'zst' || ext === 'zstd') return 'zst';
  if (ext === 'xml') return 'none';
  return ext as Compression;
}

/** The compression the first bytes show, or null when they match no known magic. */
export function sniffCompression(head: Uint8Array): Compression | null {
  if (head.length >= 2 && head[0] === 0x1f && head[1] === 0x8b) return 'gz';
  if (head.length >= 6 && head[0] === 0xfd && head[1] === 0x37 && head[2] === 0x7a && head[3] === 0x58 && head[4] === 0x5a && head[5] === 0) return 'xz';
  if (head.length >= 4 && head[0] === 0x28 && head[1] === 0xb5 && head[2] === 0x2f && head[3] === 0xfd) return 'zst';
  if (head.length >= 3 && head[0] === 0x42 && head[1] === 0x5a && head[2] === 0x68) return 'bz2';
  return null;
}

export interface DecompressOptions {
  /** What is being read, for errors. */
  what: string;
  /** Refuse output past this many bytes. */
  maxOutput: number;
  /** The file name (its extension is a hint when the magic says nothing). */
  name?: string;
  /**
   * Check gzip's CRC-32 (default true). A caller that verifies a cryptographic checksum of the
   * output anyway may skip it; the trailer's size is always checked.
   */
  gzipCrc?: boolean;
  /** A native gzip decoder (Host.deflate.gunzipChunks); fflate in this thread otherwise. */
  gunzip?: DeflateProvider['gunzipChunks'];
}

/**
 * The uncompressed bytes of `input`, whatever its compression (plain XML passes through). Throws
 * XylemError ECORRUPT for bad data, ETOOBIG past maxOutput.
 */
export async function* decompressStream(input: AsyncIterable<Uint8Array>, opts: DecompressOptions): AsyncGenerator<Uint8Array> {
  if (typeof opts?.what !== 'string') throw new TypeError('decompressStream: opts.what is required');
  if (!Number.isSafeInteger(opts.maxOutput) || opts.maxOutput < 0) throw new TypeError('decompressStream: opts.maxOutput must be a non-negative integer');
  const it = input[Symbol.asyncIterator]();
  // Gather enough of the head to sniff.
  const head: Uint8Array[] = [];
  let headLen = 0;
  let done = false;
  while (headLen < 6) {
    const r = await it.next();
    if (r.done) {
      done = true;
      break;
    }
    head.push(r.value);
    headLen += r.value.length;
  }
  const first = concat1(head);
  const sniffed = sniffCompression(first);
  const named = opts.name ? compressionFromName(opts.name) : null;
  let kind: Compression;
  if (sniffed !== null) kind = sniffed;
  else if (named !== null && named !== 'none') throw new XylemError(`${opts.what}: not ${named} data (its first bytes match no known compression)`, 'ECORRUPT');
  else kind = 'none';
  const rest: AsyncIterable<Uint8Array> = {
    [Symbol.asyncIterator]: () => {
      let sentHead = first.length === 0;
      return {
        next: async (): Promise<IteratorResult<Uint8Array>> => {
          if (!sentHead) {
            sentHead = true;
            return { done: false, value: first };
          }
          if (done) return { done: true, value: undefined };
          return it.next();
        },
        return: async (): Promise<IteratorResult<Uint8Array>> => {
          await it.return?.();
          return { done: true, value: undefined };
        },
      };
    },
  };
  const cap = new OutputCap(opts.what, opts.maxOutput);
  switch (kind) {
    case 'none':
      for await (const c of rest) yield cap.take(c);
      return;
    case 'gz':
      if (opts.gunzip) yield* nativeGunzip(opts.gunzip, rest, cap, opts.what, opts.maxOutput);
      else yield* gunzip(rest, cap, opts.what, opts.gzipCrc ?? true);
      return;
    case 'xz':
      yield* unxz(rest, cap, opts.what);
      return;
    case 'zst':
      yield* unzstd(rest, cap, opts.what);
      return;
    case 'bz2':
      yield* bunzip2(rest, cap, opts.what);
      return;
  }
}

/** bzip2: input slice per push, and output drained per step (a block is up to 900 kB in, ~45 MB out). */
const BZ2_SLICE = 64 * 1024;
const BZ2_STEP_OUTPUT = 4 << 20;

class OutputCap {
  total = 0;
  constructor(
    private readonly what: string,
    private readonly max: number,
  ) {}
  take(c: Uint8Array): Uint8Array {
    this.total += c.length;
    if (this.total > this.max) throw new XylemError(`${this.what}: decompresses to more than the limit of ${this.max} bytes`, 'ETOOBIG');
    return c;
  }
}


function corrupt(what: string, kind: string, e: unknown): XylemError {
  if (e instanceof XylemError) return e;
  const msg = e instanceof Error ? e.message : String(e);
  return new XylemError(`${what}: invalid ${kind} data (${msg})`, 'ECORRUPT');
}

let fflateMod: Promise<typeof import('fflate')> | null = null;

/** gzip through the host's native decoder: the cap and the errors as for the fflate path. */
async function* nativeGunzip(
  decode: NonNullable<DeflateProvider['gunzipChunks']>,
  input: AsyncIterable<Uint8Array>,
  cap: OutputCap,
  what: string,
  maxOutput: number,
): AsyncGenerator<Uint8Array> {
  const it = decode(input, maxOutput)[Symbol.asyncIterator]();
  for (;;) {
    let r: IteratorResult<Uint8Array>;
    try {
      r = await it.next();
    } catch (e) {
      // The decoder's own cap (a RangeError) is the same limit as ours.
      if (e instanceof RangeError) throw new XylemError(`${what}: decompresses to more than the limit of ${maxOutput} bytes`, 'ETOOBIG');
      throw corrupt(what, 'gzip', e);
    }
    if (r.done) return;
    yield cap.take(r.value);
  }
}

async function* gunzip(input: AsyncIterable<Uint8Array>, cap: OutputCap, what: string, checkCrc: boolean): AsyncGenerator<Uint8Array> {
  const { Gunzip } = await (fflateMod ??= import('fflate'));
  const out: Uint8Array[] = [];
  let members = 1;
  let crc = 0;
  let size = 0;
  const tail = new Uint8Array(8);
  let tailLen = 0;
  const g = new Gunzip((chunk) => {
    if (chunk.length === 0) return;
    out.push(cap.take(chunk));
    if (members === 1) {
      if (checkCrc) crc = crc32(chunk, crc);
      size = (size + chunk.length) >>> 0;
    }
  });
  g.onmember = () => {
    members++;
  };
  const keepTail = (c: Uint8Array): void => {
    if (c.length >= 8) {
      tail.set(c.subarray(c.length - 8));
      tailLen = 8;
      return;
    }
    const keep = Math.min(tailLen, 8 - c.length);
    tail.copyWithin(0, tailLen - keep, tailLen);
    tail.set(c, keep);
    tailLen = keep + c.length;
  };
  try {
    for await (const chunk of input) {
      for (let i = 0; i < chunk.length; i += GZ_SLICE) {
        const piece = chunk.subarray(i, Math.min(i + GZ_SLICE, chunk.length));
        keepTail(piece);
        g.push(piece, false);
        while (out.length) yield out.shift()!;
      }
    }
    g.push(new Uint8Array(0), true);
  } catch (e) {
    throw corrupt(what, 'gzip', e);
  }
  while (out.length) yield out.shift()!;
  // fflate does not read the trailer: check CRC-32 and ISIZE (single-member files).
  if (members === 1) {
    if (tailLen < 8) throw new XylemError(`${what}: invalid gzip data (truncated trailer)`, 'ECORRUPT');
    const dv = new DataView(tail.buffer, tail.byteOffset, 8);
    if ((checkCrc && dv.getUint32(0, true) !== crc >>> 0) || dv.getUint32(4, true) !== size)
      throw new XylemError(`${what}: invalid gzip data (CRC or size in the trailer does not match; truncated?)`, 'ECORRUPT');
  }
}

interface XzModule {
  XzReadableStream: new (src: ReadableStream<Uint8Array>) => ReadableStream<Uint8Array>;
}
let xzMod: Promise<XzModule> | null = null;

async function* unxz(input: AsyncIterable<Uint8Array>, cap: OutputCap, what: string): AsyncGenerator<Uint8Array> {
  const mod = await (xzMod ??= import('xz-decompress').then((m: unknown) => {
    const x = m as XzModule & { default?: XzModule };
    return x.XzReadableStream ? x : (x.default as XzModule);
  }));
  const it = input[Symbol.asyncIterator]();
  const src = new ReadableStream<Uint8Array>({
    async pull(ctrl) {
      const r = await it.next();
      if (r.done) ctrl.close();
      else ctrl.enqueue(r.value);
    },
    async cancel() {
      await it.return?.();
    },
  });
  const reader = new mod.XzReadableStream(src).getReader();
  try {
    for (;;) {
      let r: ReadableStreamReadResult<Uint8Array>;
      try {
        r = await reader.read();
      } catch (e) {
        throw corrupt(what, 'xz', e);
      }
      if (r.done) break;
      if (r.value.length) yield cap.take(r.value);
    }
  } finally {
    reader.cancel().catch(() => undefined);
  }
}

/**
 * Walks zstd frame and block headers over the compressed bytes (without decoding) so that every
 * frame's window size is checked before fzstd allocates a window for it.
 */
class ZstdFrameGuard {
  /** Bytes still to skip (block content, checksum, skippable frame). */
  private skip = 0;
  private state: 'frame' | 'block' = 'frame';
  private pending = new Uint8Array(0);
  private lastBlock = false;
  private checksum = false;
  constructor(private readonly what: string) {}

  push(c: Uint8Array): void {
    let buf = c;
    if (this.pending.length) buf = concat1([this.pending, c]);
    let i = 0;
    for (;;) {
      if (this.skip > 0) {
        const n = Math.min(this.skip, buf.length - i);
        this.skip -= n;
        i += n;
        if (this.skip > 0) break;
      }
      if (this.state === 'frame') {
        if (buf.length - i < 4) break;
        const magic = (buf[i]! | (buf[i + 1]! << 8) | (buf[i + 2]! << 16) | (buf[i + 3]! << 24)) >>> 0;
        if ((magic & 0xfffffff0) === 0x184d2a50) {
          if (buf.length - i < 8) break;
          this.skip = (buf[i + 4]! | (buf[i + 5]! << 8) | (buf[i + 6]! << 16) | (buf[i + 7]! << 24)) >>> 0;
          i += 8;
          continue;
        }
        if (magic !== 0xfd2fb528) throw new XylemError(`${this.what}: invalid zstd data (bad frame magic)`, 'ECORRUPT');
        if (buf.length - i < 6) break;
        const fhd = buf[i + 4]!;
        const singleSegment = (fhd >> 5) & 1;
        const dictIdFlag = fhd & 3;
        const fcsFlag = fhd >> 6;
        this.checksum = ((fhd >> 2) & 1) === 1;
        const fcsBytes = fcsFlag === 0 ? singleSegment : 1 << fcsFlag;
        const hdr = 4 + 1 + (singleSegment ? 0 : 1) + [0, 1, 2, 4][dictIdFlag]! + fcsBytes;
        if (buf.length - i < hdr) break;
        let window: number;
        if (!singleSegment) {
          const wd = buf[i + 5]!;
          const base = 2 ** (10 + (wd >> 3));
          window = base + (base / 8) * (wd & 7);
        } else {
          let fcs = 0;
          const at = i + hdr - fcsBytes;
          for (let k = fcsBytes - 1; k >= 0; k--) fcs = fcs * 256 + buf[at + k]!;
          if (fcsBytes === 2) fcs += 256;
          window = fcs;
        }
        if (window > ZSTD_MAX_WINDOW)
          throw new XylemError(`${this.what}: zstd frame needs a ${window}-byte window, more than the limit of ${ZSTD_MAX_WINDOW}`, 'ETOOBIG');
        i += hdr;
        this.state = 'block';
        continue;
      }
      // A block header: bit 0 last, bits 1-2 type, bits 3-23 size.
      if (buf.length - i < 3) break;
      const bh = buf[i]! | (buf[i + 1]! << 8) | (buf[i + 2]! << 16);
      i += 3;
      const type = (bh >> 1) & 3;
      const size = bh >>> 3;
      if (type === 3) throw new XylemError(`${this.what}: invalid zstd data (reserved block type)`, 'ECORRUPT');
      this.skip = type === 1 ? 1 : size;
      if (bh & 1) {
        this.state = 'frame';
        if (this.checksum) this.skip += 4;
      }
    }
    this.pending = i < buf.length ? buf.slice(i) : new Uint8Array(0);
    this.lastBlock = this.state === 'frame' && this.skip === 0;
  }

  /** Whether the input ended between frames. */
  get atBoundary(): boolean {
    return this.lastBlock && this.pending.length === 0;
  }
}

async function* unzstd(input: AsyncIterable<Uint8Array>, cap: OutputCap, what: string): AsyncGenerator<Uint8Array> {
  const { Decompress } = await import('fzstd');
  const out: Uint8Array[] = [];
  const guard = new ZstdFrameGuard(what);
  const d = new Decompress((chunk) => {
    if (chunk.length) out.push(cap.take(chunk.slice()));
  });
  let any = false;
  try {
    for await (const chunk of input) {
      for (let i = 0; i < chunk.length; i += ZST_SLICE) {
        const piece = chunk.subarray(i, Math.min(i + ZST_SLICE, chunk.length));
        any = true;
        guard.push(piece);
        d.push(piece, false);
        while (out.length) yield out.shift()!;
      }
    }
    if (!any || !guard.atBoundary) throw new XylemError(`${what}: invalid zstd data (truncated)`, 'ECORRUPT');
    d.push(new Uint8Array(0), true);
  } catch (e) {
    throw corrupt(what, 'zstd', e);
  }
  while (out.length) yield out.shift()!;
}

/**
 * bzip2 metadata (createrepo_c 0.x writes its sqlite databases, and some old repos their XML, as
 * .bz2), through the RPM reader's streaming decoder (src/rpm/bzip2.ts): input in slices, each
 * decoded block drained a few MiB at a time, so memory stays flat and the cap stops a bomb early.
 */
async function* bunzip2(input: AsyncIterable<Uint8Array>, cap: OutputCap, what: string): AsyncGenerator<Uint8Array> {
  const out: Uint8Array[] = [];
  const d = new Bzip2Decoder((b) => {
    if (b.length) out.push(cap.take(b.slice()));
  }, what);
  const it = input[Symbol.asyncIterator]();
  let pending: Uint8Array | null = null;
  const first = await it.next();
  pending = first.done ? new Uint8Array(0) : first.value;
  try {
    while (pending !== null) {
      const next = await it.next();
      const chunk: Uint8Array = pending;
      pending = next.done ? null : next.value;
      for (let o = 0; o < chunk.length || (o === 0 && chunk.length === 0); ) {
        const e = Math.min(chunk.length, o + BZ2_SLICE);
        d.push(chunk.subarray(o, e), pending === null && e === chunk.length);
        o = e;
        while (out.length) yield out.shift()!;
        while (d.pending()) {
          d.drain(BZ2_STEP_OUTPUT);
          while (out.length) yield out.shift()!;
        }
        if (chunk.length === 0) break;
      }
    }
  } catch (e) {
    if (e instanceof XylemError && e.code === 'ETOOBIG') throw e;
    throw corrupt(what, 'bzip2', e);
  }
  while (out.length) yield out.shift()!;
}
