// Where the on-demand delta service keeps the deltas it generated: a small key → bytes store
// interface (keys are repository-relative paths such as "deltas/jw/…/superblock"), and the
// in-memory implementation (bounded, oldest dropped first). Filesystem and S3-compatible stores
// live in runtimes/serverless/. A store only has to be a cache: anything dropped is regenerated,
// byte for byte the same, when asked for again.

import { XylemError } from '../util/errors.ts';

/** A pluggable store for generated delta files. */
export interface DeltaCache {
  /** A short name for logs ("memory", "fs", "s3"). */
  readonly name: string;
  /** The stored bytes, or null when the key is absent. */
  get(key: string): Promise<Uint8Array | null>;
  /** Stores `data` under `key`, replacing what was there (atomically: readers see old or new). */
  put(key: string, data: Uint8Array): Promise<void>;
  /**
   * Optional start-up check that the store can be written and read back (a folder the process may
   * not write, a runtime without file permissions); throws a message saying what to fix.
   */
  check?(): Promise<void>;
}

/** Keys are repository-relative paths of delta files: this refuses anything else. */
export function checkCacheKey(key: string): void {
  if (typeof key !== 'string' || !/^(deltas|delta-indexes|summaries)(\/[A-Za-z0-9._+\-]+)+$/.test(key) || key.split('/').some((c) => c === '.' || c === '..') || key.length > 512)
    throw new XylemError(`Invalid delta cache key '${String(key)}'`);
}

/** An in-memory DeltaCache holding at most `maxBytes` (default 256 MiB); the oldest entries go first. */
export class MemoryDeltaCache implements DeltaCache {
  readonly name = 'memory';
  private readonly map = new Map<string, Uint8Array>();
  private bytes = 0;
  readonly maxBytes: number;

  constructor(opts: { maxBytes?: number } = {}) {
    this.maxBytes = opts.maxBytes ?? 256 * 1024 * 1024;
    if (!Number.isSafeInteger(this.maxBytes) || this.maxBytes <= 0) throw new XylemError(`Invalid memory cache size ${String(opts.maxBytes)}`);
  }

  async get(key: string): Promise<Uint8Array | null> {
    checkCacheKey(key);
    const d = this.map.get(key);
    if (!d) return null;
    this.map.delete(key);
    this.map.set(key, d);
    return d;
  }

  async put(key: string, data: Uint8Array): Promise<void> {
    checkCacheKey(key);
    if (!(data instanceof Uint8Array)) throw new TypeError('MemoryDeltaCache.put: data must be a Uint8Array');
    const old = this.map.get(key);
    if (old) {
      this.bytes -= old.length;
      this.map.delete(key);
    }
    this.map.set(key, data);
    this.bytes += data.length;
    for (const [k, v] of this.map) {
      if (this.bytes <= this.maxBytes || k === key) break;
      this.map.delete(k);
      this.bytes -= v.length;
    }
  }

  /** Number of stored entries. */
  get size(): number {
    return this.map.size;
  }
}
