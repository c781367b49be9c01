// A DeflateProvider that hands whole-buffer deflate and inflate to the Host's WorkerPool, so an
// archive commit, checkout, fsck or pull compresses on the other cores while the main thread reads
// files and schedules (fflate's async API and libostree's worker threads do the same). Tiny inputs
// stay in the calling thread, where a thread round trip would cost more than the work; streaming
// stays with the in-thread provider. Deflate goes to the pool only when the pool reproduces the
// in-thread provider's output byte for byte (its deflateName matches), so archive objects are the
// same files with and without workers; inflate output is the same whichever inflater runs it.

import type { DeflateProvider, WorkerPool } from '../host.ts';
import { errnoCode } from './errors.ts';

/** Below these input sizes the work is done in the calling thread (fewer µs than a round trip). */
export const WORKER_DEFLATE_MIN = 2048;
export const WORKER_INFLATE_MIN = 1024;

/**
 * Bytes of one-shot work done in the calling thread before the pool is used at all: starting a
 * worker (a V8 isolate, ~20 MiB) costs more than a small commit or fsck saves with it (quick bench
 * tree, 5 MB: slower with the pool under load).
 */
export const WORKER_WARMUP_BYTES = 16 << 20;

/** `base`, with its one-shot deflate and bounded inflate run on `pool` where that pays. */
export function pooledDeflateProvider(pool: WorkerPool, base: DeflateProvider): DeflateProvider {
  if (pool === null || typeof pool !== 'object' || typeof pool.inflateRaw !== 'function') throw new TypeError('pooledDeflateProvider: pool must be a WorkerPool');
  if (base === null || typeof base !== 'object' || typeof base.deflateRaw !== 'function') throw new TypeError('pooledDeflateProvider: base must be a DeflateProvider');
  const warmup = pool.warmupBytes ?? WORKER_WARMUP_BYTES;
  if (!Number.isSafeInteger(warmup) || warmup < 0) throw new RangeError(`pooledDeflateProvider: invalid warmupBytes ${warmup}`);
  let seen = 0;
  /** Whether a job of n bytes goes to the pool (once `warmup` bytes have gone through here). */
  const usePool = (n: number): boolean => {
    if (seen >= warmup) return true;
    seen += n;
    return false;
  };
  const sameDeflate = pool.deflateName === base.name;
  // A pool that cannot run (its threads fail to start or die: code EWORKER) costs speed, not
  // correctness: the work is done in the calling thread instead.
  const orInThread = (work: Promise<Uint8Array>, inThread: () => Promise<Uint8Array>): Promise<Uint8Array> =>
    work.catch((e: unknown) => {
      if (errnoCode(e) === 'EWORKER') return inThread();
      throw e;
    });
  const provider: DeflateProvider = {
    name: `${base.name}+${pool.name}`,
    deflateRaw(data: Uint8Array, level: number): Promise<Uint8Array> {
      if (sameDeflate && data instanceof Uint8Array && data.byteLength >= WORKER_DEFLATE_MIN && usePool(data.byteLength)) return orInThread(pool.deflateRaw(data, level), () => base.deflateRaw(data, level));
      return base.deflateRaw(data, level);
    },
    inflateRaw(data: Uint8Array, maxOutput?: number): Promise<Uint8Array> {
      // Only bounded inflates go to the pool: an unbounded one is the caller's own trusted data.
      if (maxOutput !== undefined && data instanceof Uint8Array && data.byteLength >= WORKER_INFLATE_MIN && usePool(maxOutput)) return orInThread(pool.inflateRaw(data, maxOutput), () => base.inflateRaw(data, maxOutput));
      return base.inflateRaw(data, maxOutput);
    },
  };
  if (base.inflateRawChunks) provider.inflateRawChunks = base.inflateRawChunks.bind(base);
  if (base.deflateRawChunks) provider.deflateRawChunks = base.deflateRawChunks.bind(base);
  return provider;
}
