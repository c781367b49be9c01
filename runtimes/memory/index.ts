// The in-memory host: an inode-modelled filesystem with xattrs, pure-JS SHA-256 and DEFLATE,
// in-process file locks.
// No node:* imports, so it runs in browsers as well as in tests.

import type { Host } from '../../src/host.ts';
import { createMemoryFs } from './fs.ts';
import type { MemoryFsOptions } from './fs.ts';
import { nobleHashProvider } from './hash.ts';
import { fflateDeflateProvider } from './deflate.ts';
import { createMemoryLocks } from './locks.ts';

export { createMemoryFs } from './fs.ts';
export type { MemoryFsOptions } from './fs.ts';
export { nobleHashProvider } from './hash.ts';
export { fflateDeflateProvider } from './deflate.ts';
export { createMemoryLocks } from './locks.ts';

export interface MemoryHostOptions extends MemoryFsOptions {
  /** Environment variables to expose (default empty). */
  env?: Record<string, string | undefined>;
  /** Cores to report (default 1). */
  concurrency?: number;
}

/** Creates a Host whose filesystem lives in memory (starting as an empty `/`). */
export function createMemoryHost(options: MemoryHostOptions = {}): Host {
  if (typeof options !== 'object' || options === null) throw new TypeError('createMemoryHost: options must be an object');
  const now = options.now ?? Date.now;
  const fs = createMemoryFs(options);
  return {
    fs,
    locks: createMemoryLocks(fs),
    hash: nobleHashProvider,
    deflate: fflateDeflateProvider,
    env: options.env ?? {},
    now,
    uid: options.uid ?? 0,
    gid: options.gid ?? 0,
    concurrency: options.concurrency ?? 1,
  };
}
