// A DeltaCache in a local folder (Node, Bun, Deno): <dir>/<key>, written atomically (temp file,
// fsync, rename) through any FsHost, so a crash never leaves a half-written delta file behind.

import type { FsHost } from '../../src/host.ts';
import type { DeltaCache } from '../../src/delta/on-demand-cache.ts';
import { checkCacheKey } from '../../src/delta/on-demand-cache.ts';
import { writeFileAtomic } from '../../src/util/atomic-write.ts';

export class FsDeltaCache implements DeltaCache {
  readonly name = 'fs';
  constructor(
    private readonly fs: FsHost,
    private readonly dir: string,
  ) {
    if (typeof dir !== 'string' || dir === '') throw new Error('FsDeltaCache: a folder is required');
  }

  async get(key: string): Promise<Uint8Array | null> {
    checkCacheKey(key);
    const p = `${this.dir}/${key}`;
    const st = await this.fs.stat(p);
    if (!st || st.kind !== 'file') return null;
    return this.fs.readFile(p);
  }

  async put(key: string, data: Uint8Array): Promise<void> {
    checkCacheKey(key);
    const p = `${this.dir}/${key}`;
    await this.fs.mkdir(p.slice(0, p.lastIndexOf('/')), { recursive: true, mode: 0o755 });
    await writeFileAtomic(this.fs, p, data, { fsync: true });
  }
}
