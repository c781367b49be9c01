// Raw DEFLATE in pure JavaScript (fflate), for hosts without node:zlib (browsers, tests).
// Inflation is streamed in small input slices so a limit stops a deflate bomb early.

import { deflateSync, Inflate } from 'fflate';
import type { DeflateProvider } from '../../src/host.ts';
import { concatBytes } from '../../src/util/bytes.ts';

/** Input slice fed per step; DEFLATE expands at most ~1032×, so one step yields ≤ ~4 MiB. */
const INFLATE_SLICE = 4096;

function deflateRaw(data: Uint8Array, level: number): Promise<Uint8Array> {
  if (!(data instanceof Uint8Array)) return Promise.reject(new TypeError('deflateRaw: data must be a Uint8Array'));
  if (!Number.isInteger(level) || level < -1 || level > 9) {
    return Promise.reject(new RangeError(`deflateRaw: level must be an integer in -1..9, got ${level}`));
  }
  const lvl = (level === -1 ? 6 : level) as 0 | 1 | 2 | 3 | 4 | 5 | 6 | 7 | 8 | 9;
  return Promise.resolve(deflateSync(data, { level: lvl }));
}

function inflateRawSync(data: Uint8Array, maxOutput: number): Uint8Array {
  const chunks: Uint8Array[] = [];
  let total = 0;
  let over = false;
  const inflater = new Inflate((chunk) => {
    total += chunk.byteLength;
    if (total > maxOutput) over = true;
    else chunks.push(chunk);
  });
  try {
    for (let pos = 0; pos < data.byteLength && !over; pos += INFLATE_SLICE) {
      const end = Math.min(pos + INFLATE_SLICE, data.byteLength);
      inflater.push(data.subarray(pos, end), end === data.byteLength);
    }
    if (data.byteLength === 0) inflater.push(data, true);
  } catch (e) {
    throw new Error(`inflateRaw: invalid deflate data (${(e as Error).message})`, { cause: e });
  }
  if (over) throw new Error(`inflateRaw: output exceeds the limit of ${maxOutput} bytes`);
  if (chunks.length === 1) return chunks[0];
  return concatBytes(chunks);
}

function inflateRaw(data: Uint8Array, maxOutput?: number): Promise<Uint8Array> {
  if (!(data instanceof Uint8Array)) return Promise.reject(new TypeError('inflateRaw: data must be a Uint8Array'));
  if (maxOutput !== undefined && (!Number.isSafeInteger(maxOutput) || maxOutput < 0)) {
    return Promise.reject(new RangeError(`inflateRaw: maxOutput must be a non-negative integer, got ${maxOutput}`));
  }
  try {
    return Promise.resolve(inflateRawSync(data, maxOutput ?? Number.MAX_SAFE_INTEGER));
  } catch (e) {
    return Promise.reject(e);
  }
}

export const fflateDeflateProvider: DeflateProvider = {
  name: 'fflate',
  deflateRaw,
  inflateRaw,
};
