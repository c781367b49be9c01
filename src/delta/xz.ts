// xz (LZMA2) codecs for static-delta parts, behind small interfaces so a host can supply native
// ones. Decoding defaults to xz-decompress (XZ Embedded compiled to WASM: runs in Node, Bun, Deno,
// browsers and serverless runtimes) and always enforces an output cap (an "xz bomb" is refused
// after at most `maxSize` bytes). Encoders: the built-in LZMA2 encoder (lzma2.ts, pure TS), a
// store-only one (uncompressed LZMA2 chunks), or whatever a host passes as XzEncoder (liblzma).

import { CorruptionError } from '../util/errors.ts';
import { concatBytes } from '../util/bytes.ts';

export interface XzDecoder {
  /** Decompresses one .xz stream; throws if the output would exceed maxSize bytes. */
  decompress(data: Uint8Array, maxSize: number): Promise<Uint8Array>;
}

export interface XzEncoder {
  /** A short name for logs ("store", "liblzma-6"…). */
  readonly name: string;
  /** Compresses `data` into one .xz stream; must be deterministic for reproducible deltas. */
  compress(data: Uint8Array): Promise<Uint8Array>;
  /** How many compress() calls may usefully run at once (an off-thread pool's size; default 1). */
  readonly parallelism?: number;
  /**
   * Optional: compress()'s output as pieces to be concatenated, so a caller that frames the
   * stream (a delta part's leading byte) copies the compressed bytes once, not twice.
   */
  compressPieces?(data: Uint8Array): Promise<Uint8Array[]>;
  /**
   * Optional: compress()'s output piece by piece as it is made, so a caller that writes it to a
   * file holds one piece at a time, never the whole compressed stream.
   */
  compressStream?(data: Uint8Array): AsyncIterable<Uint8Array>;
}

interface XzDecompressModule {
  XzReadableStream: new (src: ReadableStream<Uint8Array>) => ReadableStream<Uint8Array>;
}

let xzModule: Promise<XzDecompressModule> | undefined;

async function loadXzDecompress(): Promise<XzDecompressModule> {
  xzModule ??= import('xz-decompress').then((m: unknown) => {
    const mod = m as XzDecompressModule & { default?: XzDecompressModule };
    return mod.XzReadableStream ? mod : (mod.default as XzDecompressModule);
  });
  return xzModule;
}

/** The default decoder (xz-decompress, WASM). */
export const wasmXzDecoder: XzDecoder = {
  async decompress(data: Uint8Array, maxSize: number): Promise<Uint8Array> {
    if (!(data instanceof Uint8Array)) throw new TypeError('xz decompress: expected a Uint8Array');
    if (!Number.isSafeInteger(maxSize) || maxSize < 0) throw new RangeError(`xz decompress: invalid size cap ${maxSize}`);
    const { XzReadableStream } = await loadXzDecompress();
    const src = new ReadableStream<Uint8Array>({
      start(c) {
        c.enqueue(data);
        c.close();
      },
    });
    const reader = new XzReadableStream(src).getReader();
    const chunks: Uint8Array[] = [];
    let total = 0;
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        total += value.length;
        if (total > maxSize) {
          await reader.cancel().catch(() => undefined);
          throw new CorruptionError(`xz data decompresses to more than the declared ${maxSize} bytes`);
        }
        if (value.length) chunks.push(value);
      }
    } catch (e) {
      if (e instanceof CorruptionError) throw e;
      throw new CorruptionError(`Invalid xz data: ${e instanceof Error ? e.message : String(e)}`);
    }
    if (chunks.length === 1) return chunks[0]!;
    return concatBytes(chunks);
  },
};

// ---------------------------------------------------------------------------------------------
// The store-only encoder

const CRC32_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

export function crc32(data: Uint8Array, crc = 0): number {
  let c = ~crc >>> 0;
  for (let i = 0; i < data.length; i++) c = CRC32_TABLE[(c ^ data[i]!) & 0xff]! ^ (c >>> 8);
  return ~c >>> 0;
}

function le32(n: number): number[] {
  return [n & 255, (n >>> 8) & 255, (n >>> 16) & 255, n >>> 24];
}

function xzVarint(n: number): number[] {
  const out: number[] = [];
  while (n >= 0x80) {
    out.push((n % 128) | 0x80);
    n = Math.floor(n / 128);
  }
  out.push(n);
  return out;
}

const LZMA2_CHUNK = 65536;

/** Raw LZMA2 data holding `data` in uncompressed chunks. */
function storedLzma2(data: Uint8Array): Uint8Array {
  const nChunks = Math.ceil(data.length / LZMA2_CHUNK);
  const body = new Uint8Array(data.length + 3 * nChunks + 1);
  let o = 0;
  for (let i = 0; i < nChunks; i++) {
    const chunk = data.subarray(i * LZMA2_CHUNK, Math.min(data.length, (i + 1) * LZMA2_CHUNK));
    body[o++] = i === 0 ? 0x01 : 0x02; // uncompressed chunk, dictionary reset on the first
    body[o++] = (chunk.length - 1) >>> 8;
    body[o++] = (chunk.length - 1) & 255;
    body.set(chunk, o);
    o += chunk.length;
  }
  body[o++] = 0x00; // end of LZMA2 data
  return body;
}
/** Stream flags: check type CRC32. */
const STREAM_FLAGS = [0x00, 0x01];

/** An .xz stream holding `data` in uncompressed LZMA2 chunks (one block, CRC32 check). */
export function xzStore(data: Uint8Array): Uint8Array {
  return xzContainer(data, null, 0);
}

/**
 * Wraps a raw LZMA2 stream of `data` (or, when lzma2 is null, uncompressed LZMA2 chunks) in the
 * .xz container: stream header, one block (LZMA2 filter with dictionary property `dictProp`),
 * CRC32 check, index, stream footer.
 */
export function xzContainer(data: Uint8Array, lzma2: Uint8Array | null, dictProp: number): Uint8Array {
  return concatBytes(xzContainerPieces(data, lzma2 === null ? null : [lzma2], dictProp));
}

/** xzContainer's bytes as a list of pieces (the LZMA2 pieces among them, not copied). */
export function xzContainerPieces(data: Uint8Array, lzma2: Uint8Array[] | null, dictProp: number): Uint8Array[] {
  return [...xzContainerStream(data, lzma2, dictProp)];
}

/**
 * xzContainer's bytes piece by piece: the LZMA2 pieces are passed on as `lzma2` yields them (the
 * container needs their sizes only for the index, which comes last).
 */
export function* xzContainerStream(data: Uint8Array, lzma2: Iterable<Uint8Array> | null, dictProp: number): Generator<Uint8Array, void, undefined> {
  const header = [0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00, ...STREAM_FLAGS];
  header.push(...le32(crc32(new Uint8Array(STREAM_FLAGS))));
  yield new Uint8Array(header);
  const records: Array<[number, number]> = [];
  if (data.length > 0) {
    // block header: size, flags (1 filter, no sizes), LZMA2 filter id, 1 property byte, dict size
    // byte 0 (4 KiB: nothing is ever matched), padding to 8, CRC32
    const bh = [0x02, 0x00, 0x21, 0x01, dictProp, 0x00, 0x00, 0x00];
    bh.push(...le32(crc32(new Uint8Array(bh))));
    yield new Uint8Array(bh);
    const body = lzma2 ?? [storedLzma2(data)];
    let bodyLength = 0;
    for (const b of body) {
      bodyLength += b.length;
      yield b;
    }
    const pad = (4 - (bodyLength % 4)) % 4;
    yield new Uint8Array(pad);
    yield new Uint8Array(le32(crc32(data)));
    records.push([bh.length + bodyLength + 4, data.length]);
  }
  const index = [0x00, ...xzVarint(records.length)];
  for (const [unpadded, usize] of records) index.push(...xzVarint(unpadded), ...xzVarint(usize));
  while (index.length % 4 !== 0) index.push(0);
  index.push(...le32(crc32(new Uint8Array(index))));
  yield new Uint8Array(index);
  const footerBody = [...le32(index.length / 4 - 1), ...STREAM_FLAGS];
  yield new Uint8Array([...le32(crc32(new Uint8Array(footerBody))), ...footerBody, 0x59, 0x5a]);
}

/** A dependency-free encoder: valid .xz without compression. */
export const storeXzEncoder: XzEncoder = {
  name: 'store',
  compress: async (data: Uint8Array) => xzStore(data),
};

/** The built-in compressing encoder (src/delta/lzma2.ts, pure TypeScript). */
export const lzma2XzEncoder: XzEncoder = {
  name: 'lzma2-ts',
  compress: async (data: Uint8Array) => concatBytes(await lzma2XzEncoder.compressPieces!(data)),
  compressPieces: async (data: Uint8Array) => {
    const { lzma2EncodePieces, LZMA2_DICT_PROP } = await import('./lzma2.ts');
    return xzContainerPieces(data, lzma2EncodePieces(data), LZMA2_DICT_PROP);
  },
  compressStream: async function* (data: Uint8Array) {
    const { lzma2EncodeStream, LZMA2_DICT_PROP } = await import('./lzma2.ts');
    yield* xzContainerStream(data, lzma2EncodeStream(data), LZMA2_DICT_PROP);
  },
};
