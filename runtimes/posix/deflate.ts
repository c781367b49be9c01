// Raw DEFLATE through node:zlib. Large inputs use the async API (the work runs on libuv's thread
// pool, so several objects compress in parallel); small ones are done in place, where a thread-pool
// round trip and zlib's per-chunk callbacks would cost more than the work itself.

import type * as zlib from 'node:zlib';
import type { DeflateProvider } from '../../src/host.ts';
import { lazyBuiltin } from './builtin.ts';

// node:zlib is loaded on first use (commands that never inflate do not pay for it at start-up).
const zlibMod = lazyBuiltin<typeof zlib>('node:zlib');
const promisify = (f: unknown): unknown => lazyBuiltin<typeof import('node:util')>('node:util')().promisify(f as never);
type ZlibAsync = (data: Uint8Array, opts: zlib.ZlibOptions) => Promise<Uint8Array>;
let asyncFns: { deflate: ZlibAsync; inflate: ZlibAsync } | null = null;
const deflateRawAsync: ZlibAsync = (d, o) => (asyncFns ??= promisified()).deflate(d, o);
const inflateRawAsync: ZlibAsync = (d, o) => (asyncFns ??= promisified()).inflate(d, o);
function promisified(): { deflate: ZlibAsync; inflate: ZlibAsync } {
  return { deflate: promisify(zlibMod().deflateRaw) as ZlibAsync, inflate: promisify(zlibMod().inflateRaw) as ZlibAsync };
}

function plain(b: Uint8Array): Uint8Array {
  return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
}

function checkLevel(level: number): void {
  if (!Number.isInteger(level) || level < -1 || level > 9) {
    throw new RangeError(`deflateRaw: level must be an integer in -1..9, got ${level}`);
  }
}

/** Below these sizes, (in)flating synchronously is cheaper than going through the thread pool. */
const SYNC_DEFLATE_MAX = 32 * 1024;
const SYNC_INFLATE_MAX = 256 * 1024;

async function deflateRaw(data: Uint8Array, level: number): Promise<Uint8Array> {
  if (!(data instanceof Uint8Array)) throw new TypeError('deflateRaw: data must be a Uint8Array');
  checkLevel(level);
  if (data.byteLength <= SYNC_DEFLATE_MAX) return plain(zlibMod().deflateRawSync(data, { level }));
  return plain(await deflateRawAsync(data, { level }));
}

function inflateAny(data: Uint8Array, opts: zlib.ZlibOptions): Promise<Uint8Array> | Uint8Array {
  return data.byteLength <= SYNC_INFLATE_MAX ? zlibMod().inflateRawSync(data, opts) : inflateRawAsync(data, opts);
}

async function inflateRaw(data: Uint8Array, maxOutput?: number): Promise<Uint8Array> {
  if (!(data instanceof Uint8Array)) throw new TypeError('inflateRaw: data must be a Uint8Array');
  if (maxOutput === undefined) {
    try {
      return plain(await inflateAny(data, {}));
    } catch (e) {
      throw new Error(`inflateRaw: invalid deflate data (${(e as Error).message})`, { cause: e });
    }
  }
  if (!Number.isSafeInteger(maxOutput) || maxOutput < 0) {
    throw new RangeError(`inflateRaw: maxOutput must be a non-negative integer, got ${maxOutput}`);
  }
  let out: Uint8Array;
  try {
    // zlib rejects maxOutputLength 0; allow one byte and check below.
    out = await inflateAny(data, { maxOutputLength: Math.max(1, maxOutput) });
  } catch (e) {
    const code = (e as { code?: string }).code;
    if (code === 'ERR_BUFFER_TOO_LARGE') {
      throw new Error(`inflateRaw: output exceeds the limit of ${maxOutput} bytes`, { cause: e });
    }
    throw new Error(`inflateRaw: invalid deflate data (${(e as Error).message})`, { cause: e });
  }
  if (out.byteLength > maxOutput) throw new Error(`inflateRaw: output exceeds the limit of ${maxOutput} bytes`);
  return plain(out);
}

/** Input slices fed to the streaming inflater (the output comes in zlib's 64 KiB chunks). */
const STREAM_SLICE = 256 * 1024;

async function* slices(data: Uint8Array): AsyncIterable<Uint8Array> {
  for (let off = 0; off < data.length; off += STREAM_SLICE) yield data.subarray(off, Math.min(off + STREAM_SLICE, data.length));
}

async function* inflateRawChunks(data: Uint8Array | AsyncIterable<Uint8Array>, maxOutput: number): AsyncIterable<Uint8Array> {
  const source = data instanceof Uint8Array ? slices(data) : data;
  if (typeof (source as AsyncIterable<Uint8Array>)[Symbol.asyncIterator] !== 'function')
    throw new TypeError('inflateRawChunks: data must be a Uint8Array or an async iterable of them');
  if (!Number.isSafeInteger(maxOutput) || maxOutput < 0) throw new RangeError(`inflateRawChunks: invalid maxOutput ${maxOutput}`);
  const inf = zlibMod().createInflateRaw({ chunkSize: 64 * 1024 });
  let failed: Error | null = null;
  inf.on('error', (e: Error) => {
    failed = e;
  });
  // Feed the input as the consumer drains the output, so at most a few chunks are ever buffered.
  const drained = () =>
    new Promise<void>((resolve) => {
      const done = () => {
        inf.off('drain', done);
        inf.off('close', done);
        resolve();
      };
      inf.on('drain', done);
      inf.on('close', done);
    });
  void (async () => {
    try {
      for await (const piece of source) {
        if (inf.destroyed) return;
        if (!inf.write(piece)) await drained();
      }
      if (!inf.destroyed) inf.end();
    } catch (e) {
      inf.destroy(e as Error);
    }
  })();
  let total = 0;
  try {
    for await (const c of inf as AsyncIterable<Buffer>) {
      total += c.length;
      if (total > maxOutput) throw new Error(`inflateRaw: output exceeds the limit of ${maxOutput} bytes`);
      yield plain(c);
    }
  } catch (e) {
    const err = failed ?? (e as Error);
    if (/exceeds the limit/.test(err.message)) throw err;
    throw new Error(`inflateRaw: invalid deflate data (${err.message})`, { cause: err });
  } finally {
    inf.destroy();
  }
}

/** Pipes `source` through a zlib transform, feeding it only as its output is drained. */
async function* throughZlib(t: zlib.InflateRaw | zlib.DeflateRaw | zlib.Gunzip, source: AsyncIterable<Uint8Array>): AsyncIterable<Uint8Array> {
  let failed: Error | null = null;
  t.on('error', (e: Error) => {
    failed = e;
  });
  const drained = () =>
    new Promise<void>((resolve) => {
      const done = () => {
        t.off('drain', done);
        t.off('close', done);
        resolve();
      };
      t.on('drain', done);
      t.on('close', done);
    });
  // Each piece is fully consumed (its write callback ran) before the next is asked for, so a
  // source may hand out the same buffer again (see DeflateProvider.deflateRawChunks).
  void (async () => {
    try {
      for await (const piece of source) {
        if (t.destroyed) return;
        await new Promise<void>((resolve) => {
          if (!t.write(piece, () => resolve())) void drained();
        });
      }
      if (!t.destroyed) t.end();
    } catch (e) {
      t.destroy(e as Error);
    }
  })();
  try {
    for await (const c of t as AsyncIterable<Buffer>) yield plain(c);
  } catch (e) {
    throw failed ?? e;
  } finally {
    t.destroy();
  }
}

async function* deflateRawChunks(data: AsyncIterable<Uint8Array>, level: number): AsyncIterable<Uint8Array> {
  if (typeof (data as AsyncIterable<Uint8Array>)?.[Symbol.asyncIterator] !== 'function')
    throw new TypeError('deflateRawChunks: data must be an async iterable of Uint8Arrays');
  checkLevel(level);
  yield* throughZlib(zlibMod().createDeflateRaw({ level, chunkSize: 64 * 1024 }), data);
}

async function* gunzipChunks(data: AsyncIterable<Uint8Array>, maxOutput: number): AsyncIterable<Uint8Array> {
  if (typeof (data as AsyncIterable<Uint8Array>)?.[Symbol.asyncIterator] !== 'function') throw new TypeError('gunzipChunks: data must be an async iterable of Uint8Arrays');
  if (!Number.isSafeInteger(maxOutput) || maxOutput < 0) throw new RangeError(`gunzipChunks: invalid maxOutput ${maxOutput}`);
  let total = 0;
  try {
    for await (const c of throughZlib(zlibMod().createGunzip({ chunkSize: 64 * 1024 }), data)) {
      total += c.length;
      if (total > maxOutput) throw new RangeError(`gunzip: output exceeds the limit of ${maxOutput} bytes`);
      yield c;
    }
  } catch (e) {
    if (e instanceof RangeError) throw e;
    throw new Error(`gunzip: ${(e as Error).message}`, { cause: e });
  }
}

export const nodeDeflateProvider: DeflateProvider = {
  name: 'node:zlib',
  deflateRaw,
  inflateRaw,
  inflateRawChunks,
  deflateRawChunks,
  gunzipChunks,
};
