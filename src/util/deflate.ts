// Raw DEFLATE fallback (fflate, pure JS) for runtimes without a native zlib; hosts may supply a faster one.

import type { DeflateProvider } from '../host.ts';
import { CorruptionError } from './errors.ts';
import { concatBytes } from './bytes.ts';

// fflate is imported on first use: building its tables (and, under Node, loading worker_threads)
// would otherwise cost every CLI start-up, while hosts with a native zlib never need it.
let fflate: Promise<typeof import('fflate')> | null = null;
const loadFflate = (): Promise<typeof import('fflate')> => (fflate ??= import('fflate'));

export const fflateDeflateProvider: DeflateProvider = {
  name: 'fflate',
  async deflateRaw(data: Uint8Array, level: number): Promise<Uint8Array> {
    const { deflateSync } = await loadFflate();
    return deflateSync(data, { level: level as 6 });
  },
  async inflateRaw(data: Uint8Array, maxOutput?: number): Promise<Uint8Array> {
    const { inflateSync, Inflate } = await loadFflate();
    if (maxOutput === undefined) return inflateSync(data);
    // Stream so that a bomb is refused before it is allocated.
    const chunks: Uint8Array[] = [];
    let total = 0;
    const inf = new Inflate((chunk) => {
      total += chunk.length;
      if (total > maxOutput) throw new CorruptionError(`Decompressed data exceeds expected size ${maxOutput}`);
      chunks.push(chunk);
    });
    inf.push(data, true);
    return concatBytes(chunks);
  },
};

/** Inflated chunks of `data`: streamed where the provider can, else the whole output at once. */
export async function* inflateRawChunks(
  provider: DeflateProvider,
  data: Uint8Array | AsyncIterable<Uint8Array>,
  maxOutput: number,
): AsyncIterable<Uint8Array> {
  if (provider.inflateRawChunks) {
    yield* provider.inflateRawChunks(data, maxOutput);
    return;
  }
  if (data instanceof Uint8Array) {
    yield await provider.inflateRaw(data, maxOutput);
    return;
  }
  const parts: Uint8Array[] = [];
  let n = 0;
  for await (const p of data) {
    parts.push(p);
    n += p.length;
  }
  const all = new Uint8Array(n);
  n = 0;
  for (const p of parts) {
    all.set(p, n);
    n += p.length;
  }
  yield await provider.inflateRaw(all, maxOutput);
}
